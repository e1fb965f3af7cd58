# SimMIM's image masks and SG-MIM's selective / random knowledge masks.
sgmim_folder_sources(_sources)
target_sources(sgmim PRIVATE ${_sources})
