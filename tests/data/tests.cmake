# Tests of the pre-training data pipeline; built only where src/data/sources.cmake added it to sgmim.
get_property(_sgmim_defs TARGET sgmim PROPERTY INTERFACE_COMPILE_DEFINITIONS)
if("SGMIM_WITH_DATA=1" IN_LIST _sgmim_defs AND TARGET sgmim_synth)
  sgmim_test(data_test
    data/image_decode_test.cpp
    data/joint_transform_test.cpp
    data/knowledge_dataset_test.cpp
    data/distributed_sampler_test.cpp
    data/knowledge_loader_test.cpp
  )
endif()
