#include "api/metrics.h"

#include <array>
#include <sstream>

namespace simkyc {
namespace {
constexpr std::array<double, 12> kBoundsMs = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

void render_histogram(std::ostringstream& o, const std::string& name, const std::string& label,
                      const std::string& value, const std::vector<long long>& buckets, long long count, double sum_ms) {
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i)
    o << name << "_bucket{" << label << "=\"" << value << "\",le=\"" << kBoundsMs[i] / 1000.0 << "\"} " << buckets[i] << "\n";
  o << name << "_bucket{" << label << "=\"" << value << "\",le=\"+Inf\"} " << count << "\n";
  o << name << "_sum{" << label << "=\"" << value << "\"} " << sum_ms / 1000.0 << "\n";
  o << name << "_count{" << label << "=\"" << value << "\"} " << count << "\n";
}
}  // namespace

void Metrics::observe(Histogram& h, double ms) {
  if (h.buckets.empty()) h.buckets.assign(kBoundsMs.size(), 0);
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i)
    if (ms <= kBoundsMs[i]) ++h.buckets[i];
  ++h.count;
  h.sum_ms += ms;
}

void Metrics::count_request(const std::string& route, int status, double ms) {
  std::lock_guard lock(mu_);
  ++requests_[{route, status}];
  observe(request_latency_[route], ms);
}

void Metrics::count_decision(const std::string& decision) {
  std::lock_guard lock(mu_);
  ++decisions_[decision];
}

void Metrics::observe_stage(const std::string& stage, double ms) {
  std::lock_guard lock(mu_);
  observe(stage_latency_[stage], ms);
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  o << "# HELP simkyc_http_requests_total HTTP requests by route and status.\n# TYPE simkyc_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    o << "simkyc_http_requests_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} " << n << "\n";
  o << "# HELP simkyc_http_request_duration_seconds Request latency by route.\n# TYPE simkyc_http_request_duration_seconds histogram\n";
  for (const auto& [r, h] : request_latency_)
    render_histogram(o, "simkyc_http_request_duration_seconds", "route", r, h.buckets, h.count, h.sum_ms);
  o << "# HELP simkyc_stage_duration_seconds Pipeline stage latency.\n# TYPE simkyc_stage_duration_seconds histogram\n";
  for (const auto& [s, h] : stage_latency_)
    render_histogram(o, "simkyc_stage_duration_seconds", "stage", s, h.buckets, h.count, h.sum_ms);
  o << "# HELP simkyc_decisions_total Verification decisions.\n# TYPE simkyc_decisions_total counter\n";
  for (const auto& d : {"PASS", "REVIEW", "FAIL"}) {
    const auto it = decisions_.find(d);
    o << "simkyc_decisions_total{decision=\"" << d << "\"} " << (it == decisions_.end() ? 0 : it->second) << "\n";
  }
  return o.str();
}

}  // namespace simkyc
