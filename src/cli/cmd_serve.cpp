// simkyc serve — the registration service over HTTP.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/server.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/store_path.h"
#include "core/file.h"

namespace simkyc::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string store, key_file, config, calibration, tls_cert, tls_key;
  std::string web = SIMKYC_DEFAULT_WEB_DIR;
  std::string embedder = kDecisionEmbedder;
  std::string detector = kDefaultDetector;
  int threads = 8;
  ConnectionLimits connections;
};

ApiServer* g_server = nullptr;
extern "C" void on_signal(int) {
  if (g_server) g_server->stop();
}

// "liveness": {"channels": {"counter": ["passive"], "online": ["passive", "challenge"]},
//              "on_fail": "fail" | "review", "model": "lbp_svm_v1", "target_bpcer": 0.05,
//              "mirrored_frames": false}   (docs/liveness.md)
Status read_liveness_settings(const nlohmann::json& v, ServiceConfig& c) {
  for (const auto& [k, x] : v.items()) {
    if (k == "channels") {
      c.liveness.channels.clear();
      for (const auto& [channel, checks] : x.items()) {
        LivenessRequirement r{false, false};
        for (const auto& check : checks) {
          if (check == "passive") r.passive = true;
          else if (check == "challenge") r.challenge = true;
          else return make_error(Reason::kConfigError, "liveness checks: passive or challenge");
        }
        c.liveness.channels[channel] = r;
      }
    } else if (k == "on_fail") {
      if (x == "fail") c.liveness.on_fail = Decision::kFail;
      else if (x == "review") c.liveness.on_fail = Decision::kReview;
      else return make_error(Reason::kConfigError, "liveness on_fail: fail or review");
    } else if (k == "model") c.liveness_engine.passive.model = x.get<std::string>();
    else if (k == "target_bpcer") c.liveness_engine.passive.target_bpcer = x.get<double>();
    else if (k == "mirrored_frames") c.liveness_engine.challenge.mirrored = x.get<bool>();
    else return make_error(Reason::kConfigError, "unknown liveness setting '" + k + "'");
  }
  return ok_status();
}

// Reads the optional JSON config file into the service settings.  Unknown keys are an error
// (a typo must not silently keep a default).
Result<ServiceConfig> load_service_config(const std::string& path) {
  ServiceConfig c;
  if (path.empty()) return c;
  auto text = read_text_file(path, 1u << 20);
  if (!text) return text.error();
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return make_error(Reason::kConfigError, path + ": not a JSON object");
  try {
    for (const auto& [k, v] : j.items()) {
      if (k == "number_limit") c.number_limit = v.get<int>();
      else if (k == "session_ttl_s") c.session_ttl_s = v.get<std::int64_t>();
      else if (k == "registration_window_s") c.registration_window_s = v.get<std::int64_t>();
      else if (k == "channel_fmr") c.channel_fmr = v.get<std::map<std::string, double>>();
      else if (k == "review_fmr") c.review_fmr = v.get<double>();
      else if (k == "guardian_age") c.guardian_age = v.get<int>();
      else if (k == "minor_action") c.minor_action = v.get<std::string>();
      else if (k == "expired_action") c.expired_action = v.get<std::string>();
      else if (k == "rate_max_failures") c.rate_max_failures = v.get<int>();
      else if (k == "rate_window_s") c.rate_window_s = v.get<std::int64_t>();
      else if (k == "rate_lock_s") c.rate_lock_s = v.get<std::int64_t>();
      else if (k == "consent_version") c.consent_version = v.get<std::string>();
      else if (k == "live_file_channels") c.live_file_channels = v.get<std::vector<std::string>>();
      else if (k == "max_image_bytes") c.limits.max_bytes = v.get<std::uint64_t>();
      else if (k == "retention_sessions_days") c.retention.sessions_days = v.get<std::int64_t>();
      else if (k == "retention_templates_days") c.retention.templates_days = v.get<std::int64_t>();
      else if (k == "liveness") {
        if (auto st = read_liveness_settings(v, c); !st) return make_error(Reason::kConfigError, path + ": " + st.error().detail);
      }
      else return make_error(Reason::kConfigError, path + ": unknown setting '" + k + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kConfigError, path + ": " + e.what());
  }
  if (c.number_limit < 1) return make_error(Reason::kConfigError, "number_limit must be >= 1");
  for (const auto* a : {&c.minor_action, &c.expired_action})
    if (*a != "review" && *a != "refuse" && *a != "allow") return make_error(Reason::kConfigError, "actions: review, refuse or allow");
  return c;
}

int run_serve(const Context& ctx, const ServeArgs& a) {
  const auto colon = a.listen.rfind(':');
  ServerConfig sc;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    sc.host = a.listen.substr(0, colon);
    sc.port = std::stoi(a.listen.substr(colon + 1));
  } catch (const std::exception&) {
    return report_error(make_error(Reason::kUsage, "--listen HOST:PORT"), false);
  }
  sc.threads = a.threads;
  sc.connections = a.connections;
  sc.tls_cert = a.tls_cert;
  sc.tls_key = a.tls_key;
  sc.web_root = a.web;
  auto cfg = load_service_config(a.config);
  if (!cfg) return report_error(cfg.error(), false);

  const std::string store_path = a.store.empty() ? default_store_path() : a.store;
  // A shared (PostgreSQL) store: every instance must use the same data key, so none is made up
  // here; it comes from SIMKYC_MASTER_KEY or an existing --key-file (docs/deployment.md).
  const bool shared_store = is_postgres_url(store_path);
  const std::string key_path = a.key_file.empty() && !shared_store ? default_key_path(store_path) : a.key_file;
  Result<Vault> vault = make_error(Reason::kConfigError);
  if (const char* hex = std::getenv("SIMKYC_MASTER_KEY"); hex && *hex) {
    vault = Vault::from_hex(hex);
    spdlog::info("data key from SIMKYC_MASTER_KEY");
  } else if (key_path.empty()) {
    vault = make_error(Reason::kConfigError,
                       "a PostgreSQL store needs the data key every instance shares: set SIMKYC_MASTER_KEY or "
                       "--key-file (make one once with: (umask 077; openssl rand -hex 32 > simkyc.key))");
  } else {
    bool created = false;
    vault = Vault::from_key_file(key_path, /*create_if_missing=*/!shared_store, &created);
    if (vault && created) spdlog::warn("created a new data key file {} (mode 0600): back it up; without it the stored data cannot be read", key_path);
  }
  if (!vault) return report_error(vault.error(), false);
  auto store = open_store(store_path);
  if (!store) return report_error(store.error(), false);
  AnalyzerConfig acfg;
  acfg.embedder_id = a.embedder;
  acfg.detector_id = a.detector;
  auto analyzer = FaceAnalyzer::load(ctx.model_dir, acfg);
  if (!analyzer) return report_error(analyzer.error(), false);
  const auto model = analyzer->embedder_info().name;
  auto table = load_calibration(a.calibration.empty() ? default_calibration_path(ctx.model_dir, model)
                                                     : std::filesystem::path(a.calibration));
  if (!table) return report_error(table.error(), false);
  auto liveness = LivenessEngine::load(ctx.model_dir, cfg->liveness_engine);
  if (!liveness) return report_error(liveness.error(), false);
  auto service = Service::create(**store, *vault, *analyzer, *table, *cfg, {}, std::move(liveness.value()));
  if (!service) return report_error(service.error(), false);
  Metrics metrics;
  ApiServer server(**service, metrics, sc);
  if (auto st = server.bind(); !st) return report_error(st.error(), false);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // One line on stdout that scripts and tests wait for.
  std::cout << "simkyc serving on " << (sc.tls_cert.empty() ? "http" : "https") << "://" << sc.host << ":" << server.port()
            << " (store " << redact_location(store_path) << ")" << std::endl;
  spdlog::info("listening host={} port={} threads={} max_connections={} per_address={} store={}", sc.host, server.port(),
               sc.threads, sc.connections.max_connections, sc.connections.max_per_address, redact_location(store_path));
  auto st = server.run();
  g_server = nullptr;
  if (!st) return report_error(st.error(), false);
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
  static ServeArgs a;
  auto* s = app.add_subcommand("serve", "Run the registration service (HTTP JSON API under /v1, /healthz, /metrics, console)");
  s->add_option("--listen", a.listen, "HOST:PORT to listen on (port 0 picks a free one)")->capture_default_str();
  s->add_option("--store", a.store, "SQLite store file (default: $SIMKYC_DATA_DIR/simkyc.db or ~/.local/share/simkyc/simkyc.db), "
                                  "or a PostgreSQL URL postgres://USER@HOST:PORT/DB shared by many instances "
                                  "(docs/deployment.md)");
  s->add_option("--key-file", a.key_file, "Data key file (default: simkyc.key beside a SQLite store, created on first start; "
                                          "with PostgreSQL it must exist). SIMKYC_MASTER_KEY (64 hex) overrides it");
  s->add_option("--config", a.config, "Service settings (JSON; see docs/service.md)")->check(CLI::ExistingFile);
  s->add_option("--calibration", a.calibration, "Calibration table (default: the shipped one for the embedder)")->check(CLI::ExistingFile);
  s->add_option("--embedder", a.embedder, "Embedder decisions are made with (e.g. dlib_resnet_v1)")->capture_default_str();
  s->add_option("--detector", a.detector, "Face detector (make_detector names, e.g. fr_hog+mmod, fr_detect+mmod, hog+mmod; docs/accuracy.md)")
      ->capture_default_str();
  s->add_option("--threads", a.threads, "Requests processed at once (others wait; /healthz never does)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  s->add_option("--max-connections", a.connections.max_connections, "Open connections at once (more get 503)")
      ->capture_default_str()->check(CLI::Range(1, 65536));
  s->add_option("--max-connections-per-address", a.connections.max_per_address,
                "Open connections from one client IP address (more get 429)")->capture_default_str()->check(CLI::Range(1, 65536));
  s->add_option("--header-timeout", a.connections.header_timeout_s,
                "Seconds a request's line and headers may take to arrive (then 408)")->capture_default_str()->check(CLI::Range(1, 3600));
  s->add_option("--body-timeout", a.connections.body_timeout_s,
                "Seconds a request's body may take to arrive (then 408)")->capture_default_str()->check(CLI::Range(1, 3600));
  s->add_option("--idle-timeout", a.connections.idle_timeout_s,
                "Longest pause while a request is being received, in seconds (then 408)")->capture_default_str()->check(CLI::Range(1, 3600));
  s->add_option("--tls-cert", a.tls_cert, "TLS certificate (PEM); with --tls-key serves HTTPS")->check(CLI::ExistingFile);
  s->add_option("--tls-key", a.tls_key, "TLS private key (PEM)")->check(CLI::ExistingFile);
  s->add_option("--web-root,--web", a.web, "Folder with the clerk console (\"\" = no console)")->capture_default_str();
  s->callback([&ctx] { ctx.exit_code = run_serve(ctx, a); });
}

}  // namespace simkyc::cli
