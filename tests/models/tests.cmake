# Encoders, the SG-MIM model, attention paths, golden outputs, gradients and losses (src/models).
sgmim_test(models_test
  models/attention_test.cpp
  models/swin_test.cpp
  models/swin_v2_test.cpp
  models/vit_test.cpp
  models/pretrainer_test.cpp
  models/gradcheck_test.cpp
  models/losses_test.cpp
  models/config_test.cpp
  models/encoder_macs_test.cpp
  models/golden_test.cpp
  models/cuda_test.cpp
  models/silog_loss_test.cpp
  models/seg_cross_entropy_test.cpp
  models/sparse_resnet_test.cpp
)
