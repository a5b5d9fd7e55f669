// src/api/metrics.h — counters and latency histograms, exposed in Prometheus text format.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace simkyc {

class Metrics {
 public:
  // Thread-safe.
  void count_request(const std::string& route, int status, double ms);
  void count_decision(const std::string& decision);
  void observe_stage(const std::string& stage, double ms);
  // Ensures: Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<long long> buckets;   // cumulative counts per bound in kBoundsMs
    long long count = 0;
    double sum_ms = 0;
  };
  void observe(Histogram& h, double ms);
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, long long> requests_;
  std::map<std::string, Histogram> request_latency_;
  std::map<std::string, Histogram> stage_latency_;
  std::map<std::string, long long> decisions_;
};

}  // namespace simkyc
