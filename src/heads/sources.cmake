# Semantic segmentation model (issue 8 part C, docs/seg-model.md): SyncBN, ConvModule, UperNet, FCN aux head, the
# ViT multi-level neck and the SegModel. Torch only (plus the process group for SyncBN), so always part of sgmim.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/sync_batch_norm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conv_module.cpp
  ${CMAKE_CURRENT_LIST_DIR}/upernet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fcn_head.cpp
  ${CMAKE_CURRENT_LIST_DIR}/multilevel_neck.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_model.cpp
)
message(STATUS "sgmim: segmentation model (SyncBN, UperNet, FCN aux head, ViT neck)")
