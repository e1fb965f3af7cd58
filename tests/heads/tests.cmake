# Fine-tuning models (src/heads): the depth heads; SyncBN (1 process and a 2-rank Gloo world in threads), UperHead /
# FCN / neck, Swin on any input size, SegModel and its layer-decay ids.
sgmim_test(heads_test
  heads/glp_depth_test.cpp
  heads/dpt_test.cpp
  heads/sync_batch_norm_test.cpp
  heads/upernet_test.cpp
  heads/swin_any_size_test.cpp
  heads/seg_model_test.cpp
)
