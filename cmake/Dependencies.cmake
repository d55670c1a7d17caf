# Every dependency is a Debian package (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(cpprestsdk CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)          # 0.7: plain target `yaml-cpp`
find_package(nlohmann_json CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(civetweb CONFIG REQUIRED)          # the HTTP server under /metrics, /healthz, /readyz
if(RR_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(RR_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
