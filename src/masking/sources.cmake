# SimMIM's image masks and SG-MIM's selective / random knowledge masks.
target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/mask_generator.cpp)
