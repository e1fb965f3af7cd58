# Fine-tuning models: the depth heads (GLP, DPT) and DepthModel; the segmentation heads (SyncBN, ConvModule, UperNet,
# the FCN auxiliary head, the ViT multi-level neck) and SegModel (docs/depth.md, docs/seg-model.md).
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/glp_depth.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dpt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/depth_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sync_batch_norm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conv_module.cpp
  ${CMAKE_CURRENT_LIST_DIR}/upernet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fcn_head.cpp
  ${CMAKE_CURRENT_LIST_DIR}/multilevel_neck.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_model.cpp
)
