#include "api/server.h"

#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <semaphore>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/hints.h"
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

void send_error(Res& res, const Error& e) {
  if (e.reason == Reason::kRateLimited && e.retry_after_s > 0)
    res.set_header("Retry-After", std::to_string(e.retry_after_s));
  send(res, http_status(e.reason), error_body(e));
}

// JSON bodies of routes without images are small; a larger one is refused with its own code.
constexpr std::size_t kMaxSmallJsonBytes = 64u << 10;

// What a POST route accepts (issue 14): its fields (anything else is UNKNOWN_FIELD), whether it
// takes images (multipart allowed, the large body limit).
struct BodyRule {
  std::vector<std::string_view> fields;
  bool images = false;
};

bool allowed_field(const BodyRule& rule, const std::string& name) {
  return std::find(rule.fields.begin(), rule.fields.end(), name) != rule.fields.end();
}

// Request body: a JSON object (or an empty object for multipart on image routes).
// Errors: kUnsupportedMediaType (no or another Content-Type), kJsonBodyTooLarge, kBadRequest,
// kUnknownField (names the field).
Result<json> json_body(const Req& req, const BodyRule& rule) {
  const std::string type = req.get_header_value("Content-Type");
  const std::string base = type.substr(0, type.find(';'));
  if (req.is_multipart_form_data() && rule.images) {
    for (const auto& [name, part] : req.files)
      if (!allowed_field(rule, name)) return make_error(Reason::kUnknownField, "unknown field '" + name + "'");
    return json::object();
  }
  if (base != "application/json")
    return make_error(Reason::kUnsupportedMediaType,
                      type.empty() ? "no Content-Type: send application/json" : "Content-Type " + base + " is not accepted");
  if (!rule.images && req.body.size() > kMaxSmallJsonBytes)
    return make_error(Reason::kJsonBodyTooLarge, "at most " + std::to_string(kMaxSmallJsonBytes) + " bytes on this route");
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Reason::kBadRequest, "body must be a JSON object");
  for (const auto& [name, v] : j.items())
    if (!allowed_field(rule, name)) return make_error(Reason::kUnknownField, "unknown field '" + name + "'");
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
  std::string b64 = field(req, body, name);
  if (b64.empty()) return make_error(Reason::kBadRequest, std::string("missing base64 field '") + name + "'");
  // A data URL (what a browser's FileReader gives): data:image/...;base64,<base64>
  if (b64.rfind("data:", 0) == 0) {
    const auto comma = b64.find(',');
    const std::string head = b64.substr(0, comma);
    if (comma == std::string::npos || head.rfind("data:image/", 0) != 0 || head.size() < 7 ||
        head.compare(head.size() - 7, 7, ";base64") != 0)
      return make_error(Reason::kBadRequest, std::string("field '") + name + "': a data URL must be data:image/...;base64,...");
    b64.erase(0, comma + 1);
  }
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
    for (const auto& [k, v] : f.items())
      if (k != "image" && k != "ts_ms") return make_error(Reason::kUnknownField, "unknown field 'frames[]." + k + "'");
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
          {"hash", e.hash}, {"prev_hash", e.prev_hash},
          {"op_seq", e.op_seq}, {"op_prev_hash", e.op_prev_hash}, {"op_hash", e.op_hash}};
}

json review_body(const ReviewRecord& r);
json review_item_body(const ReviewItem& it) {
  json j = review_body(it.review);
  j["channel"] = it.channel;
  j["reasons"] = reasons_body(it.reasons);
  j["portrait_quality"] = reasons_body(it.portrait_quality);
  j["document"] = {{"kind", it.document_kind}, {"expired", it.expired}, {"minor", it.minor}};
  j["submitted_by"] = it.submitted_by;
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); };
  j["timings"] = {{"started", it.started}, {"consent_at", opt(it.consent_at)}, {"decided_at", opt(it.decided_at)},
                  {"review_created", it.review.created}, {"resolved_at", opt(it.review.resolved_at)}};
  return j;
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

// Every route the server has (issue 14): 405 for a known path with another method, and the table
// the OpenAPI test compares with docs/openapi.yaml.  Add a route here when adding one below.
const ApiRoute kRoutes[] = {
    {"GET", "/healthz"},
    {"GET", "/metrics"},
    {"POST", "/v1/sessions"},
    {"GET", "/v1/sessions/{id}"},
    {"POST", "/v1/sessions/{id}/consent"},
    {"POST", "/v1/sessions/{id}/document"},
    {"POST", "/v1/sessions/{id}/live"},
    {"POST", "/v1/sessions/{id}/registrations"},
    {"GET", "/v1/sessions/{id}/registrations"},
    {"DELETE", "/v1/sessions/{id}/subject"},
    {"DELETE", "/v1/registrations/{id}"},
    {"POST", "/v1/subjects/numbers"},
    {"POST", "/v1/subjects/delete"},
    {"POST", "/v1/locks/clear"},
    {"GET", "/v1/reviews"},
    {"POST", "/v1/reviews/{id}/resolve"},
    {"GET", "/v1/audit"},
    {"GET", "/v1/audit/verify"},
    {"POST", "/v1/keys"},
    {"GET", "/v1/whoami"},
};

// "GET, POST" for a path some route has, "" for an unknown path.
std::string allowed_methods(const std::string& path) {
  static const std::vector<std::pair<std::regex, std::string>> compiled = [] {
    std::vector<std::pair<std::regex, std::string>> v;
    for (const auto& r : kRoutes)
      v.emplace_back(std::regex(std::regex_replace(r.path, std::regex(R"(\{id\})"), "[A-Za-z0-9_]+")), r.method);
    return v;
  }();
  std::string out;
  for (const auto& [re, method] : compiled)
    if (std::regex_match(path, re) && out.find(method) == std::string::npos) out += (out.empty() ? "" : ", ") + method;
  return out;
}

}  // namespace

std::vector<ApiRoute> api_routes() { return {std::begin(kRoutes), std::end(kRoutes)}; }

int http_status(Reason r) {
  switch (r) {
    case Reason::kUnauthorized: return 401;
    case Reason::kForbidden:
    case Reason::kReviewOwnCase:
    case Reason::kLiveFileNotAllowed: return 403;
    case Reason::kNotFound: return 404;
    case Reason::kRateLimited:
    case Reason::kTooManyConnections: return 429;
    case Reason::kStoreUnavailable:
    case Reason::kServiceBusy: return 503;
    case Reason::kMethodNotAllowed: return 405;
    case Reason::kUnsupportedMediaType: return 415;
    case Reason::kRequestTimeout: return 408;
    case Reason::kLengthRequired: return 411;
    case Reason::kHeadersTooLarge: return 431;
    case Reason::kPayloadTooLarge:
    case Reason::kJsonBodyTooLarge:
    case Reason::kImageTooLarge: return 413;
    case Reason::kBadRequest:
    case Reason::kUnknownField:
    case Reason::kLivenessChallengeRequired:   // as an error: the request lacks its frames
    case Reason::kUsage: return 400;
    case Reason::kSessionExpired:
    case Reason::kRegistrationWindowExpired: return 410;
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
  HintCatalogue hints{};     // customer hints per language (Accept-Language)
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
        localize(req, res);
      } catch (const std::exception& e) {
        spdlog::error("route={} internal error: {}", route, e.what());
        send_error(res, make_error(Reason::kInternal));
      }
      finish(route, req, res, sw.elapsed_ms());
    };
  }

  // Customer hints in the language the client asks for (issue 13).
  void localize(const Req& req, Res& res) {
    res.set_header("Vary", "Accept-Language");
    const std::string lang = hints.pick(req.get_header_value("Accept-Language"));
    res.set_header("Content-Language", lang);
    if (lang == "en" || res.body.empty() || res.body.find("\"hint\"") == std::string::npos) return;
    json j = json::parse(res.body, nullptr, false);
    if (j.is_discarded()) return;
    hints.localize(j, lang);
    res.body = j.dump();
  }

  void finish(const std::string& route, const Req& req, const Res& res, double ms) {
    metrics.count_request(route, res.status, ms);
    spdlog::info("http method={} route={} status={} ms={:.1f}", req.method, route, res.status, ms);
  }

  void routes() {
    auto& s = *http;
    s.Get("/healthz", [this](const Req& req, Res& res) {
      // Unhealthy (503) while the store cannot be reached: a load balancer sends traffic elsewhere.
      // The detail (host names, driver messages) goes to the log, not to this unauthenticated route.
      if (auto h = svc.health(); !h) {
        spdlog::warn("healthz: store unhealthy: {}", h.error().describe());
        send(res, 503, {{"status", "unhealthy"}, {"code", h.error().code()},
                        {"reason", info(h.error().reason).message}, {"model", svc.calibration().model}});
      } else {
        send(res, 200, {{"status", "ok"}, {"model", svc.calibration().model}});
      }
      finish("/healthz", req, res, 0);
    });
    s.Get("/metrics", [this](const Req&, Res& res) { res.set_content(metrics.render(), "text/plain; version=0.0.4"); });

    s.Post("/v1/sessions", authed("/v1/sessions", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req, {{"channel", "device_id", "reverify_number"}});
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
             auto body = json_body(req, {{"accepted", "version"}});
             if (!body) return send_error(res, body.error());
             const auto acc = body->find("accepted");
             if (acc == body->end() || !acc->is_boolean())
               return send_error(res, make_error(Reason::kBadRequest, "accepted must be true or false"));
             if (!acc->get<bool>()) {   // a refusal is recorded too (issue 14)
               auto st = svc.refuse_consent(c, req.matches[1], field(req, *body, "version"));
               if (!st) return send_error(res, st.error());
               return send(res, 200, {{"session_id", std::string(req.matches[1])}, {"consent", "refused"}});
             }
             auto st = svc.record_consent(c, req.matches[1], body->value("version", std::string()));
             if (!st) return send_error(res, st.error());
             send(res, 200, {{"session_id", std::string(req.matches[1])}, {"consent", "recorded"}});
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/document)",
           authed("/v1/sessions/{id}/document", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req, {{"id_number", "mrz", "portrait"}, true});
             if (!body) return send_error(res, body.error());
             auto portrait = image_field(req, *body, "portrait");
             if (!portrait) return send_error(res, portrait.error());
             DocumentInput in{field(req, *body, "id_number"), field(req, *body, "mrz"), *portrait};
             auto r = svc.submit_document(c, req.matches[1], in);
             if (!r) return send_error(res, r.error());
             for (const auto& [k, ms] : r->timings_ms) metrics.observe_stage(k, ms);
             json out = {{"document", {{"kind", r->kind}, {"valid", r->valid}, {"expired", r->expired}, {"minor", r->minor},
                                       {"needs_guardian", r->needs_guardian}}},
                         {"portrait", {{"usable", r->reasons.empty()}, {"reasons", reasons_body(r->reasons)}}}};
             send(res, 200, out);
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/live)",
           authed("/v1/sessions/{id}/live", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req, {{"image", "frames", "capture"}, true});
             if (!body) return send_error(res, body.error());
             auto live = image_field(req, *body, "image");
             if (!live) return send_error(res, live.error());
             auto frames = challenge_frames(req, *body);
             if (!frames) return send_error(res, frames.error());
             const std::string capture = field(req, *body, "capture");
             auto r = svc.submit_live(c, req.matches[1], *live, frames->views, capture.empty() ? "camera" : capture);
             if (!r) return send_error(res, r.error());
             for (const auto& [k, ms] : r->timings_ms) metrics.observe_stage(k, ms);
             metrics.count_decision(r->decision);
             send(res, 200, decision_body(*r));
           }));
    s.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/registrations)",
           authed("/v1/sessions/{id}/registrations", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req, {{"phone_number"}});
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
      std::string status = req.has_param("status") ? req.get_param_value("status") : "open";
      if (status != "open" && status != "resolved" && status != "all")
        return send_error(res, make_error(Reason::kBadRequest, "status must be open, resolved or all"));
      if (status == "all") status.clear();
      auto r = svc.review_items(c, status);
      if (!r) return send_error(res, r.error());
      json a = json::array();
      for (const auto& x : *r) a.push_back(review_item_body(x));
      send(res, 200, {{"reviews", a}});
    }));
    s.Post(R"(/v1/reviews/([A-Za-z0-9_]+)/resolve)",
           authed("/v1/reviews/{id}/resolve", [this](const Caller& c, const Req& req, Res& res) {
             auto body = json_body(req, {{"resolution", "comment"}});
             if (!body) return send_error(res, body.error());
             auto r = svc.resolve_review(c, req.matches[1], field(req, *body, "resolution"), field(req, *body, "comment"));
             if (!r) return send_error(res, r.error());
             send(res, 200, review_body(*r));
           }));
    s.Get("/v1/whoami", authed("/v1/whoami", [this](const Caller& c, const Req&, Res& res) {
      send(res, 200, {{"key_id", c.key_id}, {"operator", c.operator_id}, {"role", to_string(c.role)},
                      {"live_file_channels", svc.config().live_file_channels}});
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
      // The caller's own chain (issue 14): its entries in op_seq order, each linked to the last.
      auto own = svc.verify_operator_audit(c);
      if (!own) return send_error(res, own.error());
      out["operator_chain"] = {{"ok", own->ok}, {"entries", own->entries}};
      if (own->first_bad_seq) out["operator_chain"]["first_bad_op_seq"] = *own->first_bad_seq;
      if (!own->problem.empty()) out["operator_chain"]["problem"] = own->problem;
      send(res, 200, out);
    }));
    s.Post("/v1/keys", authed("/v1/keys", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req, {{"role"}});
      if (!body) return send_error(res, body.error());
      const auto role = role_from_string(field(req, *body, "role"));
      if (!role) return send_error(res, make_error(Reason::kBadRequest, "role must be clerk, supervisor, auditor or admin"));
      auto k = svc.create_key(c, c.operator_id, *role);
      if (!k) return send_error(res, k.error());
      send(res, 201, {{"api_key", *k}, {"operator", c.operator_id}, {"role", to_string(*role)}});
    }));

    // Issue 14: releasing a number, the holder's numbers by ID number, subject deletion by ID
    // number, and unlocking.  ID numbers travel in bodies, never in URLs (which proxies log).
    s.Delete(R"(/v1/registrations/([A-Za-z0-9_]+))",
             authed("/v1/registrations/{id}", [this](const Caller& c, const Req& req, Res& res) {
               auto st = svc.release_number(c, req.matches[1]);
               if (!st) return send_error(res, st.error());
               send(res, 200, {{"registration_id", std::string(req.matches[1])}, {"released", true}});
             }));
    s.Post("/v1/subjects/numbers", authed("/v1/subjects/numbers", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req, {{"id_number", "mrz"}});
      if (!body) return send_error(res, body.error());
      auto r = svc.numbers_of_subject(c, field(req, *body, "id_number"), field(req, *body, "mrz"));
      if (!r) return send_error(res, r.error());
      json a = json::array();
      for (const auto& n : *r)
        a.push_back({{"registration_id", n.number.registration_id}, {"phone_number", n.number.phone_number},
                     {"created", n.number.created}, {"active", n.active}});
      send(res, 200, {{"numbers", a}, {"limit", svc.config().number_limit}});
    }));
    s.Post("/v1/subjects/delete", authed("/v1/subjects/delete", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req, {{"id_number", "mrz"}});
      if (!body) return send_error(res, body.error());
      auto r = svc.delete_subject_by_document(c, field(req, *body, "id_number"), field(req, *body, "mrz"));
      if (!r) return send_error(res, r.error());
      send(res, 200, {{"deleted", *r}});
    }));
    s.Post("/v1/locks/clear", authed("/v1/locks/clear", [this](const Caller& c, const Req& req, Res& res) {
      auto body = json_body(req, {{"id_number", "mrz"}});
      if (!body) return send_error(res, body.error());
      auto r = svc.clear_locks(c, field(req, *body, "id_number"), field(req, *body, "mrz"));
      if (!r) return send_error(res, r.error());
      send(res, 200, {{"cleared", *r}});
    }));

    s.set_error_handler([](const Req& req, Res& res) {
      // Errors httplib produces itself (unknown route, body over the limit, bad request line).
      if (!res.body.empty()) return;
      // A known path with another method: 405 with the methods it has (issue 14).
      if (res.status == 404 || res.status == 400) {
        const std::string allow = allowed_methods(req.path);
        if (!allow.empty()) {
          res.status = 405;
          res.set_header("Allow", allow);
        }
      }
      const bool image_route = req.path.size() > 9 &&
                               (req.path.ends_with("/document") || req.path.ends_with("/live"));
      Reason r = res.status == 413 ? (image_route ? Reason::kPayloadTooLarge : Reason::kJsonBodyTooLarge)
                 : res.status == 405 ? Reason::kMethodNotAllowed
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
  const std::string i18n = !impl_->cfg.i18n_dir.empty() ? impl_->cfg.i18n_dir
                           : impl_->cfg.web_root.empty() ? std::string()
                                                         : impl_->cfg.web_root + "/i18n";
  if (auto h = HintCatalogue::load(i18n)) impl_->hints = std::move(*h);
  else spdlog::warn("hint catalogues in {}: {}", i18n, h.error().detail);
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
