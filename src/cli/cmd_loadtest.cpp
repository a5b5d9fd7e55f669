// simkyc loadtest — verifications per second through the HTTP service on loopback, next to the
// in-process throughput of the same work measured in the same run.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "core/clock.h"
#include "core/file.h"
#include "policy/verifier.h"

namespace simkyc::cli {
namespace {

using nlohmann::json;

struct LoadArgs {
  std::string id_photo = std::string(SIMKYC_SOURCE_DIR) + "/bench/data/id-640x480.jpg";
  std::string live = std::string(SIMKYC_SOURCE_DIR) + "/bench/data/live-640x480.jpg";
  double seconds = 20;
  int clients = 4;
  bool json_out = false;
};

struct Figures {
  long long done = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  double per_second() const { return seconds > 0 ? static_cast<double>(done) / seconds : 0; }
  double pct(double p) const {
    if (latencies_ms.empty()) return 0;
    auto v = latencies_ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  }
};

std::string base64(const Bytes& b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();
  return out;
}

// Makes one worker per thread (set-up such as model loading is not timed), then runs them for
// `seconds`; each call of a worker is one verification.
template <class MakeWorker>
Figures run_for(double seconds, int threads, MakeWorker make_worker) {
  Figures f;
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::vector<decltype(make_worker())> workers;
  for (int t = 0; t < threads; ++t) workers.push_back(make_worker());
  std::vector<std::thread> pool;
  Stopwatch total;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto& work = workers[static_cast<std::size_t>(t)];
      std::vector<double> lat;
      long long ok = 0, bad = 0;
      while (!stop) {
        Stopwatch sw;
        (work() ? ok : bad)++;
        lat.push_back(sw.elapsed_ms());
      }
      std::lock_guard lock(mu);
      f.done += ok;
      f.errors += bad;
      f.latencies_ms.insert(f.latencies_ms.end(), lat.begin(), lat.end());
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  f.seconds = total.elapsed_ms() / 1000.0;
  return f;
}

int run_loadtest(const Context& ctx, const LoadArgs& a) {
  auto id_bytes = read_file_limited(a.id_photo, 20u << 20);
  auto live_bytes = read_file_limited(a.live, 20u << 20);
  if (!id_bytes || !live_bytes) return report_error(make_error(Reason::kIoError, "bench photos"), a.json_out);
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  // 1. In-process: one Verifier per core, each analysing its two faces in turn.
  VerifierConfig vc;
  vc.analyzer.embedder_id = kDecisionEmbedder;   // as `simkyc serve` decides
  vc.parallel = false;
  vc.policy.target_fmr = 1e-3;
  auto proto = Verifier::load(ctx.model_dir, vc);
  if (!proto) return report_error(proto.error(), a.json_out);
  std::cerr << "[loadtest] in-process: " << cores << " threads for " << a.seconds << " s\n";
  const Figures inproc = run_for(a.seconds, cores, [&] {
    auto v = std::make_shared<Verifier>(Verifier::load(ctx.model_dir, vc).value());
    return [&, v] { return v->verify(*id_bytes, *live_bytes).ok(); };
  });

  // 2. Over HTTP: a real server on loopback with a fresh SQLite store; clients run the full
  //    flow (session, consent, document, live) per verification.
  const auto dir = std::filesystem::temp_directory_path() / ("simkyc-loadtest-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto vault = Vault::from_key_file(dir / "k", true);
  auto store = open_sqlite_store((dir / "s.db").string());
  AnalyzerConfig acfg;
  acfg.embedder_id = kDecisionEmbedder;
  auto analyzer = FaceAnalyzer::load(ctx.model_dir, acfg);
  if (!vault || !store || !analyzer) return report_error(make_error(Reason::kInternal, "service set-up"), a.json_out);
  ServiceConfig sc;
  sc.channel_fmr = {{"counter", 1e-3}, {"online", 1e-3}};
  sc.rate_max_failures = 1 << 30;
  auto liveness = LivenessEngine::load(ctx.model_dir, sc.liveness_engine);   // counter: passive check
  if (!liveness) return report_error(liveness.error(), a.json_out);
  auto service = Service::create(**store, *vault, *analyzer, proto->calibration(), sc, {}, std::move(liveness.value()));
  if (!service) return report_error(service.error(), a.json_out);
  auto key = (*service)->create_key(std::nullopt, "load", Role::kClerk);
  Metrics metrics;
  ServerConfig srv_cfg;
  srv_cfg.port = 0;
  srv_cfg.threads = std::max(8, a.clients * 2);
  ApiServer server(**service, metrics, srv_cfg);
  if (auto st = server.bind(); !st) return report_error(st.error(), a.json_out);
  std::thread serving([&] { (void)server.run(); });
  const std::string doc_body = json{{"id_number", "11010519491231002X"}, {"portrait", base64(*id_bytes)}}.dump();
  const std::string live_body = json{{"image", base64(*live_bytes)}}.dump();
  std::cerr << "[loadtest] HTTP: " << a.clients << " clients for " << a.seconds << " s on 127.0.0.1:" << server.port() << "\n";
  const Figures http = run_for(a.seconds, a.clients, [&] {
    auto c = std::make_shared<httplib::Client>("127.0.0.1", server.port());
    c->set_read_timeout(60, 0);
    c->set_default_headers({{"Authorization", "Bearer " + *key}});
    return [&, c] {
      auto s = c->Post("/v1/sessions", R"({"channel":"counter","device_id":"load"})", "application/json");
      if (!s || s->status != 201) return false;
      const std::string id = json::parse(s->body).value("session_id", "");
      const std::string base = "/v1/sessions/" + id;
      auto r = c->Post((base + "/consent").c_str(), R"({"accepted":true,"version":"2026-01"})", "application/json");
      if (!r || r->status != 200) return false;
      r = c->Post((base + "/document").c_str(), doc_body, "application/json");
      if (!r || r->status != 200) return false;
      r = c->Post((base + "/live").c_str(), live_body, "application/json");
      return r && r->status == 200;
    };
  });
  server.stop();
  serving.join();
  std::filesystem::remove_all(dir);

  const double ratio = inproc.per_second() > 0 ? http.per_second() / inproc.per_second() : 0;
  if (a.json_out) {
    auto fig = [](const Figures& f) {
      return json{{"verifications", f.done}, {"errors", f.errors}, {"seconds", f.seconds}, {"per_second", f.per_second()},
                  {"p50_ms", f.pct(0.5)}, {"p99_ms", f.pct(0.99)}};
    };
    print_json({{"in_process", fig(inproc)}, {"http", fig(http)}, {"http_vs_in_process", ratio}, {"cores", cores},
                {"clients", a.clients}});
    return 0;
  }
  std::cout << std::left << std::setw(34) << "mode" << std::right << std::setw(10) << "verif/s" << std::setw(10) << "p50 ms"
            << std::setw(10) << "p99 ms" << std::setw(8) << "n" << std::setw(8) << "errors" << "\n"
            << std::string(80, '-') << "\n" << std::fixed << std::setprecision(2);
  for (const auto& [name, f] : {std::pair<std::string, const Figures&>{"in-process (" + std::to_string(cores) + " threads)", inproc},
                                {"HTTP, full flow (" + std::to_string(a.clients) + " clients)", http}})
    std::cout << std::left << std::setw(34) << name << std::right << std::setw(10) << f.per_second() << std::setw(10)
              << f.pct(0.5) << std::setw(10) << f.pct(0.99) << std::setw(8) << f.done << std::setw(8) << f.errors << "\n";
  std::cout << std::string(80, '-') << "\nHTTP throughput / in-process: " << std::setprecision(3) << ratio << "\n";
  return 0;
}

}  // namespace

void add_loadtest_commands(CLI::App& app, Context& ctx) {
  static LoadArgs a;
  auto* c = app.add_subcommand("loadtest",
                               "Verifications per second through `serve` on loopback vs in-process (bounded in time)");
  c->add_option("--seconds", a.seconds, "Duration of each of the two runs")->capture_default_str()->check(CLI::Range(1.0, 600.0));
  c->add_option("--clients", a.clients, "Concurrent HTTP clients")->capture_default_str()->check(CLI::Range(1, 64));
  c->add_option("--id-photo", a.id_photo, "Document photo")->capture_default_str();
  c->add_option("--live", a.live, "Live photo")->capture_default_str();
  c->add_flag("--json", a.json_out, "Print JSON");
  c->callback([&ctx] { ctx.exit_code = run_loadtest(ctx, a); });
}

}  // namespace simkyc::cli
