# Tests of sgmim-prepare-knowledge (include/sgmim/knowledge; docs/knowledge.md): knowledge_test drives the library on
# tiny TorchScript networks defined in C++; knowledge_app_test runs the program (kill -9 and resume, two processes,
# the demo). The 2.x lane's Python check is tests/interop/prepare_knowledge.py.
if("SGMIM_WITH_KNOWLEDGE=1" IN_LIST SGMIM_DEFINITIONS)
  sgmim_test(knowledge_test knowledge/input_contract_test.cpp knowledge/prepare_knowledge_test.cpp)
  target_link_libraries(knowledge_test PRIVATE nlohmann_json::nlohmann_json)
  if(TARGET sgmim-prepare-knowledge)
    sgmim_test(knowledge_app_test knowledge/prepare_knowledge_app_test.cpp)
    add_dependencies(knowledge_app_test sgmim-prepare-knowledge)
    sgmim_test_apps(knowledge_app_test SGMIM_PREPARE_KNOWLEDGE_BIN sgmim-prepare-knowledge)
    if(TARGET sgmim-pretrain)  # the demo's maps through a pre-training run, with the command the demo prints
      add_dependencies(knowledge_app_test sgmim-pretrain)
      sgmim_test_apps(knowledge_app_test SGMIM_PRETRAIN_BIN sgmim-pretrain)
    endif()
    # The embedded demo, as a user runs it.
    add_test(NAME prepare_knowledge_demo
             COMMAND sgmim-prepare-knowledge --demo --demo-dir ${CMAKE_CURRENT_BINARY_DIR}/knowledge_demo)
    set_tests_properties(prepare_knowledge_demo PROPERTIES
                         PASS_REGULAR_EXPRESSION "contact sheet:  .*knowledge_demo/contact_sheet.png")
  endif()
endif()
