# Image encoders (Swin v1/v2, ViT), the SG-MIM guidance branch, fusion, the pre-training model and the losses.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/layers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/module_dtype.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encoder_macs.cpp
  ${CMAKE_CURRENT_LIST_DIR}/swin.cpp
  ${CMAKE_CURRENT_LIST_DIR}/swin_v2.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fusion.cpp
  ${CMAKE_CURRENT_LIST_DIR}/guidance.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sparse_resnet.cpp
  ${CMAKE_CURRENT_LIST_DIR}/losses.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pretrainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/silog_loss.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_cross_entropy.cpp
)
