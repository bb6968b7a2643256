# corolib synchronisation benchmarks (CoMutex against std::mutex and pthread
# mutexes). Linked with the daemon's backend (COROLIB_BACKEND, asm by
# default); coroutine benchmarks are named BM_<what>/<backend>. Included from
# bench/corolib/CMakeLists.txt. Results: docs/PERFORMANCE.md.
add_executable(corolib_sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cpp)
target_link_libraries(corolib_sync_bench PRIVATE corolib_core benchmark::benchmark)
