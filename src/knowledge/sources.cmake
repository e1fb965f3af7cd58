# Structured knowledge from a depth network (include/sgmim/knowledge; docs/knowledge.md): the input contract, the
# 16-bit map encoding, the TorchScript runner, sgmim-prepare-knowledge's engine and its demo. It needs the data
# pipeline (decoding, the ImageFolder index), the synthetic generator and the contact sheet (demo).
if(OpenCV_FOUND AND TARGET sgmim_synth AND TARGET sgmim_contact_sheet)
  sgmim_folder_sources(_sources)
  target_sources(sgmim PRIVATE ${_sources})
  target_link_libraries(sgmim PUBLIC sgmim_contact_sheet)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_KNOWLEDGE=1)
else()
  sgmim_dependency_missing("OpenCV 4 or sgmim_synth" libopencv-dev "sgmim-prepare-knowledge is skipped")
endif()
