# Fine-tuning models: the depth heads (GLP, DPT) and DepthModel; the segmentation heads (SyncBN, ConvModule, UperNet,
# the FCN auxiliary head, the ViT multi-level neck) and SegModel (docs/depth.md, docs/seg-model.md).
sgmim_folder_sources(_sources)
target_sources(sgmim PRIVATE ${_sources})
