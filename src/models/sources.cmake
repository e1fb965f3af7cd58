# Image encoders (Swin v1/v2, ViT), the SG-MIM guidance branch, fusion, the pre-training model and the losses.
sgmim_folder_sources(_sources)
target_sources(sgmim PRIVATE ${_sources})
