#include "api/server.h"

#include <sodium.h>
#include <sys/socket.h>

#include <filesystem>
#include <semaphore>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/guarded_server.h"
#include "core/clock.h"

namespace simkyc {
namespace {

using nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

json error_body(const Error& e) {
  return {{"code", e.code()}, {"message", std::string(info(e.reason).message) + (e.detail.empty() ? "" : " (" + e.detail + ")")},
          {"hint", info(e.reason).hint}};
}

json reasons_body(const std::vector<Reason>& rs) {
  json a = json::array();
  for (Reason r : rs) a.push_back({{"code", code(r)}, {"hint", info(r).hint}});
  return a;
}

void send(Res& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(Res& res, const Error& e) { send(res, http_status(e.reason), error_body(e)); }

// Request body: JSON object, or empty object for multipart.  Errors: kBadRequest.
Result<json> json_body(const Req& req) {
  if (req.is_multipart_form_data()) return json::object();
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Reason::kBadRequest, "body must be a JSON object");
  return j;
}

// A string field from JSON or a multipart form field.
std::string field(const Req& req, const json& body, const char* name) {
  if (req.is_multipart_form_data()) return req.has_file(name) ? req.get_file_value(name).content : std::string();
  const auto it = body.find(name);
  return (it != body.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// An image: a multipart file, or base64 in a JSON string field.  Errors: kBadRequest.
Result<std::vector<std::uint8_t>> image_field(const Req& req, const json& body, const char* name) {
  if (req.is_multipart_form_data()) {
    if (!req.has_file(name)) return make_error(Reason::kBadRequest, std::string("missing file '") + name + "'");
    const auto& c = req.get_file_value(name).content;
    return std::vector<std::uint8_t>(c.begin(), c.end());
  }
  const std::string b64 = field(req, body, name);
  if (b64.empty()) return make_error(Reason::kBadRequest, std::string("missing base64 field '") + name + "'");
  std::vector<std::uint8_t> out(b64.size() / 4 * 3 + 3);
  std::size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), " \r\n", &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return make_error(Reason::kBadRequest, std::string("field '") + name + "' is not valid base64");
  out.resize(len);
  return out;
}

// Liveness challenge frames (issue 5): optional JSON field `frames: [{image: base64, ts_ms: int}]`.
// Ensures: the decoded bytes, in order, at most 90 (the challenge's frame limit).  Errors: kBadRequest.
struct ChallengeFrames {
  std::vector<std::vector<std::uint8_t>> bytes;
  std::vector<EncodedFrame> views;   // over `bytes`
};
Result<ChallengeFrames> challenge_frames(const Req& req, const json& body) {
  ChallengeFrames out;
  const auto it = body.find("frames");
  if (req.is_multipart_form_data() || it == body.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > 90) return make_error(Reason::kBadRequest, "frames must be an array of at most 90");
  std::vector<std::int64_t> ts;
  for (const auto& f : *it) {
    if (!f.is_object() || !f.contains("ts_ms") || !f["ts_ms"].is_number_integer())
      return make_error(Reason::kBadRequest, "each frame needs image (base64) and ts_ms (integer)");
    auto img = image_field(req, f, "image");
    if (!img) return img.error();
    out.bytes.push_back(std::move(img.value()));
    ts.push_back(f["ts_ms"].get<std::int64_t>());
  }
  for (std::size_t i = 0; i < out.bytes.size(); ++i) out.views.push_back({out.bytes[i], ts[i]});
  return out;
}

std::string bearer(const Req& req) {
  const auto h = req.get_header_value("Authorization");
  if (h.rfind("Bearer ", 0) == 0) return h.substr(7);
  return req.get_header_value("X-API-Key");
}

json session_body(const SessionRecord& s) {
  return {{"session_id", s.id}, {"nonce", s.nonce}, {"expires_at", s.expires}, {"channel", s.channel},
          {"challenge", json::parse(s.challenge_json, nullptr, false)}};
}

json decision_body(const DecisionView& d) {
  return {{"session_id", d.session_id}, {"state", d.state},
          {"decision", d.decision.empty() ? json(nullptr) : json(d.decision)},
          {"reasons", reasons_body(d.reasons)}, {"expires_at", d.expires}};
}

json audit_body(const AuditEntry& e) {
  return {{"seq", e.seq}, {"ts", e.ts}, {"actor", e.actor}, {"action", e.action}, {"subject", e.subject},
          {"details", json::parse(e.details_json.empty() ? "{}" : e.details_json, nullptr, false)},
          {"hash", e.hash}, {"prev_hash", e.prev_hash}};
}

json review_body(const ReviewRecord& r) {
  json j = {{"review_id", r.id}, {"session_id", r.session_id}, {"status", r.status}, {"created", r.created}};
  if (r.status != "open") {
    j["resolution"] = r.resolution;
    j["comment"] = r.comment;
    j["resolved_by"] = r.resolved_by;
  }
  return j;
}

}  // namespace

int http_status(Reason r) {
  switch (r) {
    case Reason::kUnauthorized: return 401;
    case Reason::kForbidden: return 403;
    case Reason::kNotFound: return 404;
    case Reason::kRateLimited:
    case Reason::kTooManyConnections: return 429;
    case Reason::kRequestTimeout: return 408;
    case Reason::kLengthRequired: return 411;
    case Reason::kHeadersTooLarge: return 431;
    case Reason::kServiceBusy: return 503;
    case Reason::kPayloadTooLarge:
    case Reason::kImageTooLarge: return 413;
    case Reason::kBadRequest:
    case Reason::kUsage: return 400;
    case Reason::kSessionExpired: return 410;
    case Reason::kSessionDecided:
    case Reason::kReviewResolved:
    case Reason::kNumberLimitReached:
    case Reason::kNumberAlreadyRegistered:
    case Reason::kConsentRequired:
    case Reason::kDocumentRequired:
    case Reason::kSessionNotPassed: return 409;
    case Reason::kInternal:
    case Reason::kIoError:
    case Reason::kConfigError:
    case Reason::kModelError:
    case Reason::kStoreError:
    case Reason::kCalibrationMissing:
    case Reason::kAuditChainBroken: return 500;
    default: return 422;   // the input was understood but cannot be accepted (image, face, document)
  }
}

// Pending connections the kernel queues before the server accepts them.
constexpr int kListenBacklog = 256;

struct ApiServer::Impl {
  Service& svc;
  Metrics& metrics;
  ServerConfig cfg;
  std::unique_ptr<httplib::Server> http;
  int bound_port = 0;
  socket_t listen_fd = -1;   // the listening socket (set while binding)
  // Requests inside the service at once (cfg.threads): connections have threads of their own
  // (guarded_server.h), so waiting, slow or idle clients never hold one of these.
  std::unique_ptr<std::counting_semaphore<>> work = nullptr;

  // Wraps a handler: authentication, timing, metrics, access log, exceptions.
  template <class F>
  httplib::Server::Handler authed(const std::string& route, F f) {
    return [this, route, f](const Req& req, Res& res) {
      Stopwatch sw;
      work->acquire();
      struct Slot { std::counting_semaphore<>& s; ~Slot() { s.release(); } } slot{*work};
      try {
        auto caller = svc.authenticate(bearer(req));
        if (!caller) send_error(res, caller.error());
        else f(*caller, req, res);
      } catch (const std::exception& e) {
        spdlog::error("route={} internal error: {}", route, e.what());
        send_error(res, make_error(Reason::kInternal));
      }
      finish(route, req, res, sw.elapsed_ms());
    };
  }

  void finish(const std::string& route, const Req& req, const Res& res, double ms) {
    metrics.count_request(route, res.status, ms);
    spdlog::info("http method={} route={} status={} ms={:.1f}", req.method, route, res.status, ms);
  }

  void routes() {
    auto& s = *http;
    s.Get("/healthz", [this](const Req& req, Res& res) {
      send(res, 200, {{"status", "ok"}, {"model", svc.calibration().model}});
      finish("/healthz", req, res, 0);
    });
    s.Get("/metrics", [this](const Req&, Res& res) { res.set_content(metrics.render(), "text/plain; version=0.0.4"); });

    s.Post("/v1/sessions", authed("/v1/sessions", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req);
      if (!body) return send_error(res, body.error());
      auto r = svc.start_session(c, field(req, *body, "channel"), field(req, *body, "device_id"),
                                 field(req, *body, "reverify_number"));
      if (!r) return send_error(res, r.error());
      json out = session_body(*r);
      out["consent"] = {{"version", svc.config().consent_version}};
      send(res, 201, out);
    }));
    s.Get(R"(/v1/sessions/([A-Za-z0-9_]+))", authed("/v1/sessions/{id}", [this](const Caller& c, const Req& req, Res& res) {
      auto r = svc.get_decision(c, req.matches[1]);
      if (!r) return send_error(res, r.error());
      send(res, 200, decision_body(*r));
    }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/consent)",
           authed("/v1/sessions/{id}/consent", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req);
             if (!body) return send_error(res, body.error());
             if (!body->value("accepted", false))
               return send_error(res, make_error(Reason::kConsentRequired, "accepted must be true"));
             auto st = svc.record_consent(c, req.matches[1], body->value("version", std::string()));
             if (!st) return send_error(res, st.error());
             send(res, 200, {{"session_id", std::string(req.matches[1])}, {"consent", "recorded"}});
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/document)",
           authed("/v1/sessions/{id}/document", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req);
             if (!body) return send_error(res, body.error());
             auto portrait = image_field(req, *body, "portrait");
             if (!portrait) return send_error(res, portrait.error());
             DocumentInput in{field(req, *body, "id_number"), field(req, *body, "mrz"), *portrait};
             auto r = svc.submit_document(c, req.matches[1], in);
             if (!r) return send_error(res, r.error());
             for (const auto& [k, ms] : r->timings_ms) metrics.observe_stage(k, ms);
             json out = {{"document", {{"kind", r->kind}, {"valid", r->valid}, {"expired", r->expired}, {"minor", r->minor}}},
                         {"portrait", {{"usable", r->reasons.empty()}, {"reasons", reasons_body(r->reasons)}}}};
             send(res, 200, out);
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/live)",
           authed("/v1/sessions/{id}/live", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req);
             if (!body) return send_error(res, body.error());
             auto live = image_field(req, *body, "image");
             if (!live) return send_error(res, live.error());
             auto frames = challenge_frames(req, *body);
             if (!frames) return send_error(res, frames.error());
             auto r = svc.submit_live(c, req.matches[1], *live, frames->views);
             if (!r) return send_error(res, r.error());
             for (const auto& [k, ms] : r->timings_ms) metrics.observe_stage(k, ms);
             metrics.count_decision(r->decision);
             send(res, 200, decision_body(*r));
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/registrations)",
           authed("/v1/sessions/{id}/registrations", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req);
             if (!body) return send_error(res, body.error());
             auto r = svc.register_number(c, req.matches[1], field(req, *body, "phone_number"));
             if (!r) return send_error(res, r.error());
             send(res, 201, {{"registration_id", r->registration_id}, {"phone_number", r->phone_number}, {"created", r->created}});
           }));
    s.Get(R"(/v1/sessions/([A-Za-z0-9_]+)/registrations)",
          authed("/v1/sessions/{id}/registrations", [this](const Caller& c, const Req& req, Res& res) {
            auto r = svc.list_numbers(c, req.matches[1]);
            if (!r) return send_error(res, r.error());
            json a = json::array();
            for (const auto& n : *r) a.push_back({{"registration_id", n.registration_id}, {"phone_number", n.phone_number}, {"created", n.created}});
            send(res, 200, {{"numbers", a}, {"limit", svc.config().number_limit}});
          }));
    s.Delete(R"(/v1/sessions/([A-Za-z0-9_]+)/subject)",
             authed("/v1/sessions/{id}/subject", [this](const Caller& c, const Req& req, Res& res) {
               auto r = svc.delete_subject(c, req.matches[1]);
               if (!r) return send_error(res, r.error());
               send(res, 200, {{"deleted", *r}});
             }));
    s.Get("/v1/reviews", authed("/v1/reviews", [this](const Caller& c, const Req& req, Res& res) {
      const std::string status = req.has_param("status") ? req.get_param_value("status") : "open";
      auto r = svc.list_reviews(c, status);
      if (!r) return send_error(res, r.error());
      json a = json::array();
      for (const auto& x : *r) a.push_back(review_body(x));
      send(res, 200, {{"reviews", a}});
    }));
    s.Post(R"(/v1/reviews/([A-Za-z0-9_]+)/resolve)",
           authed("/v1/reviews/{id}/resolve", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req);
             if (!body) return send_error(res, body.error());
             auto r = svc.resolve_review(c, req.matches[1], field(req, *body, "resolution"), field(req, *body, "comment"));
             if (!r) return send_error(res, r.error());
             send(res, 200, review_body(*r));
           }));
    s.Get("/v1/audit", authed("/v1/audit", [this](const Caller& c, const Req& req, Res& res) {
      std::int64_t after = 0;
      int limit = 100;
      try {
        if (req.has_param("after")) after = std::stoll(req.get_param_value("after"));
        if (req.has_param("limit")) limit = std::stoi(req.get_param_value("limit"));
      } catch (const std::exception&) {
        return send_error(res, make_error(Reason::kBadRequest, "after and limit are integers"));
      }
      auto r = svc.audit(c, after, limit);
      if (!r) return send_error(res, r.error());
      json a = json::array();
      for (const auto& e : *r) a.push_back(audit_body(e));
      send(res, 200, {{"entries", a}});
    }));
    s.Get("/v1/audit/verify", authed("/v1/audit/verify", [this](const Caller& c, const Req&, Res& res) {
      auto r = svc.verify_audit(c);
      if (!r) return send_error(res, r.error());
      json out = {{"ok", r->ok}, {"entries", r->entries}};
      if (r->first_bad_seq) out["first_bad_seq"] = *r->first_bad_seq;
      if (!r->problem.empty()) out["problem"] = r->problem;
      send(res, 200, out);
    }));
    s.Post("/v1/keys", authed("/v1/keys", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req);
      if (!body) return send_error(res, body.error());
      const auto role = role_from_string(field(req, *body, "role"));
      if (!role) return send_error(res, make_error(Reason::kBadRequest, "role must be clerk, auditor or admin"));
      auto k = svc.create_key(c, c.operator_id, *role);
      if (!k) return send_error(res, k.error());
      send(res, 201, {{"api_key", *k}, {"operator", c.operator_id}, {"role", to_string(*role)}});
    }));

    s.set_error_handler([](const Req&, Res& res) {
      // Errors httplib produces itself (unknown route, body over the limit, bad request line).
      if (!res.body.empty()) return;
      Reason r = res.status == 413 ? Reason::kPayloadTooLarge
                 : res.status == 404 ? Reason::kNotFound
                 : res.status >= 500 ? Reason::kInternal
                                     : Reason::kBadRequest;
      json body = error_body(make_error(r));
      res.set_content(body.dump(), "application/json");
    });
    if (!cfg.web_root.empty() && std::filesystem::is_directory(cfg.web_root)) {
      // The console: explicit UTF-8 types, and a policy that allows only its own files (no inline
      // script or style, no other origin); camera frames are drawn to canvases and shown as data:/blob:.
      s.set_file_extension_and_mimetype_mapping("html", "text/html; charset=utf-8");
      s.set_file_extension_and_mimetype_mapping("js", "text/javascript; charset=utf-8");
      s.set_file_extension_and_mimetype_mapping("css", "text/css; charset=utf-8");
      s.set_mount_point("/", cfg.web_root,
                        {{"Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
                          "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
                         {"X-Content-Type-Options", "nosniff"},
                         {"Referrer-Policy", "no-referrer"},
                         {"Cache-Control", "no-cache"}});
    }
  }
};

ApiServer::ApiServer(Service& service, Metrics& metrics, ServerConfig cfg)
    : impl_(new Impl{service, metrics, std::move(cfg), nullptr, 0}) {
  // Connections, deadlines and TLS: guarded_server.h (slow and idle clients, issue 16).
  ConnectionLimits limits = impl_->cfg.connections;
  limits.max_body_bytes = impl_->cfg.max_body_bytes;
  impl_->http = std::make_unique<GuardedServer>(limits, impl_->cfg.tls_cert, impl_->cfg.tls_key);
  const int threads = std::max(1, impl_->cfg.threads);
  impl_->work = std::make_unique<std::counting_semaphore<>>(threads);
  // Debian's cpp-httplib is a compiled library that listens with a backlog of 5: a burst of
  // counters connecting at once overflowed it and connections were dropped unanswered.  The
  // listening socket is remembered here and its backlog raised after binding (bind()).
  impl_->http->set_socket_options([impl = impl_.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listen_fd = sock;
  });
  impl_->routes();
}

ApiServer::~ApiServer() = default;

Status ApiServer::bind() {
  if (!impl_->http->is_valid()) return make_error(Reason::kConfigError, "TLS certificate or key cannot be used");
  if (impl_->cfg.port == 0) impl_->bound_port = impl_->http->bind_to_any_port(impl_->cfg.host.c_str());
  else impl_->bound_port = impl_->http->bind_to_port(impl_->cfg.host.c_str(), impl_->cfg.port) ? impl_->cfg.port : -1;
  if (impl_->bound_port <= 0)
    return make_error(Reason::kConfigError, "cannot listen on " + impl_->cfg.host + ":" + std::to_string(impl_->cfg.port));
  if (impl_->listen_fd >= 0 && ::listen(impl_->listen_fd, kListenBacklog) != 0)
    spdlog::warn("could not raise the listen backlog to {}", kListenBacklog);
  return ok_status();
}

Status ApiServer::run() {
  if (impl_->bound_port <= 0)
    if (auto st = bind(); !st) return st;
  if (!impl_->http->listen_after_bind()) return make_error(Reason::kInternal, "server stopped with an error");
  return ok_status();
}

int ApiServer::port() const { return impl_->bound_port; }
void ApiServer::stop() { impl_->http->stop(); }

}  // namespace simkyc
