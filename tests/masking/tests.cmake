# Image and knowledge masks (src/masking).
sgmim_test(masking_test masking/mask_generator_test.cpp)
