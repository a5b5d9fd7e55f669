#include "registry/service.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "document/id_number.h"
#include "document/mrz.h"
#include "registry/detail_audit.h"
#include "match/copy_check.h"
#include "registry/keys.h"

namespace simkyc {
using document::Date;
using document::DocumentCheck;
using document::check_id_number;
using document::check_mrz;

namespace {

using nlohmann::json;

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Date date_of(std::int64_t unix_s) {
  return Date{std::chrono::floor<std::chrono::days>(std::chrono::sys_seconds{std::chrono::seconds{unix_s}})};
}

json codes_json(const std::vector<Reason>& rs) {
  json a = json::array();
  for (Reason r : rs) a.push_back(code(r));
  return a;
}

std::vector<Reason> codes_from_json(const std::string& text) {
  std::vector<Reason> out;
  const json j = json::parse(text.empty() ? "[]" : text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& c : j)
    if (c.is_string())
      if (auto r = reason_from_code(c.get<std::string>())) out.push_back(*r);
  return out;
}

// A supervisor may do everything a clerk may (and resolve reviews).
bool can(const Caller& c, std::initializer_list<Role> roles) {
  const Role r = c.role == Role::kSupervisor && std::find(roles.begin(), roles.end(), Role::kSupervisor) == roles.end()
                     ? Role::kClerk
                     : c.role;
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

// The sealed portrait template: {"descriptor": [...], "print": [...]} (a bare descriptor array
// before issue 13).
struct PortraitTemplate {
  Descriptor descriptor;
  ChipPrint print;
};
PortraitTemplate template_from_json(const std::string& text) {
  const json j = json::parse(text);
  if (j.is_array()) return {j.get<Descriptor>(), {}};
  return {j.at("descriptor").get<Descriptor>(), j.value("print", ChipPrint{})};
}

Error forbidden() { return make_error(Reason::kForbidden); }

// Constant-time comparison of two hex strings of equal length.
bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Failed-attempt scopes (issue 14): per ID at the operator, and per device for that ID.  A
// device's failures for one customer never lock the device for the next customer.
std::string id_scope(const std::string& op, const std::string& id_hash) { return "id:" + op + ":" + id_hash; }
std::string device_scope(const std::string& op, const std::string& id_hash, const std::string& device) {
  return id_scope(op, id_hash) + ":dev:" + device;
}

// The normalised document identity ("CN:<number>" / "<state>:<document number>") and its check.
struct DocumentIdentity {
  DocumentCheck check;
  std::string key;
};
Result<DocumentIdentity> document_identity(const std::string& id_number, const std::string& mrz, Date today) {
  DocumentIdentity out;
  if (!id_number.empty()) {
    auto r = check_id_number(id_number, today);
    out.check = r.check;
    out.key = "CN:" + r.number;
  } else if (!mrz.empty()) {
    auto r = check_mrz(mrz, today);
    out.check = r.check;
    out.key = r.fields.issuing_state + ":" + r.fields.document_number;
  } else {
    return make_error(Reason::kBadRequest, "id_number or mrz is required");
  }
  return out;
}

Error document_invalid(const DocumentCheck& check) {
  std::string codes;
  for (Reason r : check.reasons) codes += (codes.empty() ? "" : ",") + std::string(code(r));
  return make_error(Reason::kDocumentInvalid, codes);
}

}  // namespace

Result<std::string> document_subject_hash(const Vault& vault, const std::string& id_number, const std::string& mrz,
                                          std::int64_t now) {
  auto d = document_identity(id_number, mrz, date_of(now));
  if (!d) return d.error();
  if (!d->check.valid) return document_invalid(d->check);
  return vault.keyed_hash(d->key, "id");
}

Result<std::int64_t> clear_subject_locks(Store& store, const std::string& operator_id, const std::string& id_hash,
                                         const std::string& actor) {
  const std::string scope = id_scope(operator_id, id_hash);
  return store.clear_failures(operator_id, {scope, "lock:" + scope}, id_hash, actor);
}

std::optional<std::string> normalize_phone(std::string_view in) {
  if (in.size() > 32) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char ch = in[i];
    if (ch == '+' && out.empty()) out += ch;
    else if (ch >= '0' && ch <= '9') out += ch;
    else if (ch == ' ' || ch == '-' || ch == '(' || ch == ')' || ch == '.') continue;
    else return std::nullopt;
  }
  // Mainland China as typed at a counter: 11-digit mobile number, or 86 / 0086 in front of it.
  const auto cn_mobile = [](std::string_view d) { return d.size() == 11 && d[0] == '1' && d[1] >= '3'; };
  if (!out.empty() && out[0] != '+') {
    std::string_view d = out;
    if (d.substr(0, 4) == "0086") d.remove_prefix(4);
    else if (d.size() == 13 && d.substr(0, 2) == "86") d.remove_prefix(2);
    if (!cn_mobile(d)) return std::nullopt;
    out = "+86" + std::string(d);
  }
  if (out.empty() || out[0] != '+' || out.size() < 9 || out.size() > 16 || out[1] == '0') return std::nullopt;
  if (out.rfind("+86", 0) == 0 && out.size() != 14) {
    // +86 with an 11-digit mobile number only (fixed lines are not mobile numbers)
    return std::nullopt;
  }
  if (out.rfind("+86", 0) == 0 && !cn_mobile(std::string_view(out).substr(3))) return std::nullopt;
  return out;
}

Service::Service(Store& store, const Vault& vault, CalibrationTable cal, ServiceConfig cfg, Clock clock)
    : store_(store), vault_(vault), calibration_(std::move(cal)), cfg_(std::move(cfg)),
      now_(clock ? std::move(clock) : Clock(system_now)) {}

Result<std::unique_ptr<Service>> Service::create(Store& store, const Vault& vault, const FaceAnalyzer& analyzer,
                                                 CalibrationTable calibration, ServiceConfig cfg, Clock clock,
                                                 std::shared_ptr<LivenessEngine> liveness) {
  if (!table_fits(calibration, analyzer.embedder_info().name))
    return make_error(Reason::kConfigError, "calibration is for " + calibration.model);
  for (const auto& [channel, fmr] : cfg.channel_fmr) {
    auto t = calibration.threshold_for(fmr);
    if (!t) return make_error(Reason::kCalibrationMissing, "channel " + channel + ": " + t.error().detail);
  }
  if (auto t = calibration.threshold_for(cfg.review_fmr); !t) return t.error();
  for (const auto& [channel, fmr] : cfg.channel_fmr) {
    const auto req = cfg.liveness.required(channel);
    if ((req.passive || req.challenge) && !liveness)
      return make_error(Reason::kConfigError, "channel " + channel + " requires liveness checks: no liveness engine");
  }
  std::unique_ptr<Service> s(new Service(store, vault, std::move(calibration), std::move(cfg), std::move(clock)));
  s->prototype_ = std::make_unique<FaceAnalyzer>(analyzer.clone());
  s->liveness_ = std::move(liveness);
  return s;
}

std::unique_ptr<FaceAnalyzer> Service::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto a = std::move(pool_.back());
      pool_.pop_back();
      return a;
    }
  }
  std::lock_guard lock(pool_mu_);   // cloning reads the prototype: keep it exclusive
  return std::make_unique<FaceAnalyzer>(prototype_->clone());
}

void Service::release(std::unique_ptr<FaceAnalyzer> a) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(a));
}

Result<Caller> Service::authenticate(std::string_view key) {
  const auto parts = parse_api_key(key);
  if (!parts) return make_error(Reason::kUnauthorized);
  auto rec = store_.find_key(parts->key_id);
  if (!rec) return rec.error();
  if (!rec->has_value() || (*rec)->revoked) return make_error(Reason::kUnauthorized);
  if (!same_secret(hash_hex(parts->secret), (*rec)->secret_hash)) return make_error(Reason::kUnauthorized);
  return Caller{parts->key_id, (*rec)->operator_id, (*rec)->role};
}

Result<std::string> Service::create_key(const std::optional<Caller>& caller, const std::string& operator_id, Role role) {
  if (caller && (caller->role != Role::kAdmin || caller->operator_id != operator_id)) return forbidden();
  auto made = create_api_key(store_, operator_id, role, now_(), caller ? caller->key_id : "cli");
  if (!made) return made.error();
  return made->key;
}

Result<SessionRecord> Service::start_session(const Caller& c, const std::string& channel, const std::string& device_id,
                                             const std::string& reverify_number) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  if (!cfg_.channel_fmr.count(channel)) return make_error(Reason::kBadRequest, "channel must be counter or online");
  if (device_id.size() > 128) return make_error(Reason::kBadRequest, "device_id too long");
  SessionRecord s;
  s.id = "s_" + random_hex(12);
  s.operator_id = c.operator_id;
  s.channel = channel;
  s.device_id = device_id;
  s.nonce = random_hex(16);
  s.created = now_();
  s.expires = s.created + cfg_.session_ttl_s;
  // Liveness challenge: 2-3 distinct actions in a random order chosen here, bound to the nonce.
  std::vector<std::string> actions = {"blink", "turn_left", "turn_right"};
  for (std::size_t i = actions.size(); i > 1; --i) std::swap(actions[i - 1], actions[randombytes_uniform(static_cast<std::uint32_t>(i))]);
  actions.resize(2 + randombytes_uniform(2));
  s.challenge_json = json{{"actions", actions}, {"nonce", s.nonce}, {"expires", s.expires}}.dump();
  if (!reverify_number.empty()) {
    const auto phone = normalize_phone(reverify_number);
    if (!phone) return make_error(Reason::kPhoneNumberInvalid);
    const auto number_hash = vault_.keyed_hash(*phone, "phone");
    auto reg = store_.find_registration_by_number(c.operator_id, number_hash);
    if (!reg) return reg.error();
    if (!reg->has_value() || !(*reg)->active) return make_error(Reason::kNotFound, "number not registered here");
    s.document_json = json{{"reverify_number_hash", number_hash}, {"reverify_id_hash", (*reg)->id_hash}}.dump();
    // The holder is known already: a locked holder is told before the customer starts.
    if (auto st = check_locks(c.operator_id, (*reg)->id_hash, device_id.empty() ? c.key_id : device_id); !st)
      return st.error();
  }
  if (auto st = store_.create_session(s); !st) return st.error();
  return s;
}

Result<SessionRecord> Service::open_session(const Caller& c, const std::string& session_id, bool require_consent) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  auto s = store_.get_session(c.operator_id, session_id);
  if (!s) return s.error();
  if (!s->has_value()) return make_error(Reason::kNotFound, "session");
  if ((*s)->state != "open") return make_error(Reason::kSessionDecided);
  if (now_() > (*s)->expires) return make_error(Reason::kSessionExpired);
  if (require_consent && !(*s)->consent_at) return make_error(Reason::kConsentRequired);
  return std::move(s->value());
}

Status Service::record_consent(const Caller& c, const std::string& session_id, const std::string& version) {
  auto s = open_session(c, session_id, false);
  if (!s) return s.error();
  if (version != cfg_.consent_version)
    return make_error(Reason::kBadRequest, "consent version must be " + cfg_.consent_version);
  if (s->consent_at) return ok_status();   // idempotent: recorded once
  return store_.record_consent(c.operator_id, session_id, version, now_(), c.key_id);
}

Status Service::refuse_consent(const Caller& c, const std::string& session_id, const std::string& version) {
  auto s = open_session(c, session_id, false);
  if (!s) return s.error();
  if (s->consent_at)
    return make_error(Reason::kBadRequest, "consent was already given in this session; start a new session instead");
  AuditEntry e;
  e.ts = now_();
  e.operator_id = c.operator_id;
  e.actor = c.key_id;
  e.action = "consent.refuse";
  e.subject = session_id;
  e.details_json = json{{"version", version.size() <= 64 ? version : version.substr(0, 64)}, {"at", e.ts}}.dump();
  return store_.append_audit(e);
}

Result<DocumentOutcome> Service::submit_document(const Caller& c, const std::string& session_id, const DocumentInput& in) {
  auto sr = open_session(c, session_id, true);
  if (!sr) return sr.error();
  SessionRecord s = std::move(sr.value());
  auto ident = document_identity(in.id_number, in.mrz, date_of(now_()));
  if (!ident) return ident.error();
  const DocumentCheck& check = ident->check;
  const std::string& id_key = ident->key;   // normalised document identity
  DocumentOutcome out;
  out.kind = std::string(to_string(check.kind));
  out.valid = check.valid;
  out.expired = check.expired;
  out.age = check.age;
  out.minor = check.minor;
  out.needs_guardian = document::needs_guardian(check.age, cfg_.guardian_age);
  if (!check.valid) return document_invalid(check);
  const std::string id_hash = vault_.keyed_hash(id_key, "id");
  // A locked ID (or this device for this ID) is told now, before a face is taken.
  if (auto st = check_locks(c.operator_id, id_hash, s.device_id.empty() ? c.key_id : s.device_id); !st)
    return st.error();
  if (check.expired && cfg_.expired_action == "refuse") return make_error(Reason::kDocumentExpired);
  if (out.needs_guardian && cfg_.minor_action == "refuse") return make_error(Reason::kMinorNeedsGuardian);

  json doc = json::parse(s.document_json.empty() ? "{}" : s.document_json, nullptr, false);
  if (!doc.is_object()) doc = json::object();
  if (doc.contains("reverify_id_hash") && doc["reverify_id_hash"] != id_hash)
    return make_error(Reason::kNumberHolderMismatch);

  auto img = decode_image(in.portrait, cfg_.limits);
  if (!img) return img.error();
  auto analyzer = acquire();
  auto fa = analyzer->analyze(img->bgr);
  release(std::move(analyzer));
  if (!fa) return fa.error();
  if (fa->faces_found > 1) return make_error(Reason::kMultipleFaces, "document portrait");
  out.reasons = fa->quality.reasons;
  out.timings_ms = fa->timings_ms;

  doc["kind"] = out.kind;
  doc["valid"] = out.valid;
  doc["expired"] = out.expired;
  doc["minor"] = out.minor;
  doc["needs_guardian"] = out.needs_guardian;
  if (out.age) doc["age"] = *out.age;
  doc["portrait_quality"] = codes_json(out.reasons);
  doc["submitted_by"] = c.key_id;   // a reviewer never resolves their own case
  s.id_hash = id_hash;
  s.id_sealed = vault_.seal(id_key, "id:" + s.id);
  s.document_json = doc.dump();
  // The template records the model that made it (issue 11): a service deciding with another
  // model refuses it in submit_live instead of comparing descriptors of two models.  "print" is
  // the portrait's chip print for the copy check (issue 13).
  s.template_sealed = vault_.seal(json{{"model", prototype_->embedder_info().name},
                                       {"descriptor", fa->descriptor},
                                       {"print", chip_print(fa->chip.bgr)}}.dump(),
                                  "portrait:" + s.id);
  if (auto st = store_.save_document(s); !st) return st.error();
  return out;
}

Status Service::check_locks(const std::string& operator_id, const std::string& id_hash, const std::string& device) {
  std::int64_t retry = 0;
  for (const auto& scope : {id_scope(operator_id, id_hash), device_scope(operator_id, id_hash, device)}) {
    auto last = store_.last_failure("lock:" + scope);
    if (!last) return last.error();
    if (*last) retry = std::max(retry, **last + cfg_.rate_lock_s - now_());
  }
  if (retry <= 0) return ok_status();
  Error e = make_error(Reason::kRateLimited, "locked for " + std::to_string(retry) + " s more");
  e.retry_after_s = retry;
  return e;
}

bool Service::locked(const std::string& scope) {
  auto lock = store_.count_failures("lock:" + scope, now_() - cfg_.rate_lock_s);
  return lock && *lock > 0;
}

void Service::count_failure(const std::string& scope) {
  const auto now = now_();
  (void)store_.record_failure(scope, now);
  auto n = store_.count_failures(scope, now - cfg_.rate_window_s);
  if (n && *n >= cfg_.rate_max_failures) (void)store_.record_failure("lock:" + scope, now);
}

Result<DecisionView> Service::submit_live(const Caller& c, const std::string& session_id,
                                          std::span<const std::uint8_t> live_image,
                                          std::span<const EncodedFrame> frames, const std::string& capture) {
  auto sr = open_session(c, session_id, true);
  if (!sr) return sr.error();
  SessionRecord s = std::move(sr.value());
  if (s.id_hash.empty() || s.template_sealed.empty()) return make_error(Reason::kDocumentRequired);
  if (capture != "camera" && capture != "file") return make_error(Reason::kBadRequest, "capture must be camera or file");
  if (capture == "file" && std::find(cfg_.live_file_channels.begin(), cfg_.live_file_channels.end(), s.channel) ==
                               cfg_.live_file_channels.end())
    return make_error(Reason::kLiveFileNotAllowed, "channel " + s.channel);
  // The online channel's challenge needs frames: a request without them is incomplete (400), not
  // a FAIL, and does not count against the rate limit.
  if (cfg_.liveness.required(s.channel).challenge && frames.empty())
    return make_error(Reason::kLivenessChallengeRequired, "frames are required on channel " + s.channel);
  const std::string device = s.device_id.empty() ? c.key_id : s.device_id;
  if (auto st = check_locks(c.operator_id, s.id_hash, device); !st) return st.error();

  auto img = decode_image(live_image, cfg_.limits);
  if (!img) return img.error();
  auto portrait_json = vault_.open(s.template_sealed, "portrait:" + s.id);
  if (!portrait_json) return make_error(Reason::kInternal, "portrait template");
  // A template made with another model (the default changed between document and live photo, or
  // another instance decides with another model), or before templates recorded their model: the
  // document must be submitted again (its portrait re-embedded), never compared across models.
  const json tj = json::parse(*portrait_json, nullptr, false);
  const std::string decides_with = prototype_->embedder_info().name;
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_string() || !tj.contains("descriptor"))
    return make_error(Reason::kDocumentRequired, "the stored portrait template records no model (made before templates "
                                                 "did); submit the document again");
  const std::string made_with = tj["model"].get<std::string>();
  if (scores_model(made_with) != scores_model(decides_with))
    return make_error(Reason::kDocumentRequired, "the portrait template was made with " + made_with +
                                                     " and this service decides with " + decides_with +
                                                     "; submit the document again");
  const PortraitTemplate portrait_t = template_from_json(*portrait_json);
  const Descriptor& portrait = portrait_t.descriptor;
  auto analyzer = acquire();
  auto fa = analyzer->analyze(img->bgr);
  release(std::move(analyzer));
  if (!fa) return fa.error();   // e.g. NO_FACE: a retake, not a decision
  // A second face: a retake too, as on the document step (issue 14).
  if (fa->faces_found > 1) return make_error(Reason::kMultipleFaces, "live capture");

  const json doc = json::parse(s.document_json, nullptr, false);
  PolicyConfig pc;
  pc.target_fmr = cfg_.channel_fmr.at(s.channel);
  pc.review_fmr = std::max(cfg_.review_fmr, pc.target_fmr);
  const float pass_t = *calibration_.threshold_for(pc.target_fmr);
  const float review_t = std::min(pass_t, *calibration_.threshold_for(pc.review_fmr));
  const float score = similarity(portrait, fa->descriptor);
  MatchInput mi{codes_from_json(doc.value("portrait_quality", json::array()).dump()), fa->quality.reasons, score,
                pass_t, review_t};
  PolicyResult pr = decide(mi, pc);
  // Configured document rules that call for a person: never PASS automatically.
  auto to_review = [&](Reason why) {
    pr.reasons.push_back(why);
    if (pr.decision == Decision::kPass) pr.decision = Decision::kReview;
  };
  if (doc.value("expired", false)) to_review(Reason::kDocumentExpired);
  if (doc.value("needs_guardian", doc.value("minor", false)) && cfg_.minor_action == "review")
    to_review(Reason::kMinorNeedsGuardian);
  // Liveness (issue 5): never PASS when a required check is missing or any check failed.
  auto lo = check_liveness(s, img->bgr, *fa, frames);
  if (!lo) return lo.error();   // e.g. a challenge frame that is not an image: a retake
  apply_liveness(pr, *lo, cfg_.liveness.required(s.channel), cfg_.liveness.on_fail);
  // The document's own picture (a copy, resized, re-encoded or cropped) is never a live capture.
  if (is_document_copy(portrait_t.print, chip_print(fa->chip.bgr))) {
    pr.reasons.insert(pr.reasons.begin(), Reason::kLiveIsDocumentCopy);
    pr.decision = Decision::kFail;
  }
  s.live_capture = capture;

  s.state = "decided";
  s.decision = std::string(to_string(pr.decision));
  s.reasons_json = codes_json(pr.reasons).dump();
  s.score = score;
  s.threshold = pass_t;
  s.fmr = pc.target_fmr;
  s.model = calibration_.model;
  s.decided_at = now_();
  if (cfg_.retention.templates_days <= 0) s.template_sealed.clear();
  if (auto st = store_.save_decision(s, c.key_id); !st) return st.error();
  if (pr.decision == Decision::kFail) {
    count_failure(device_scope(c.operator_id, s.id_hash, device));
    count_failure(id_scope(c.operator_id, s.id_hash));
  }
  spdlog::info("decision session={} channel={} decision={} reasons={}", s.id, s.channel, s.decision, s.reasons_json);
  return DecisionView{s.id, s.state, s.decision, pr.reasons, s.expires, fa->timings_ms};
}

Result<DecisionView> Service::get_decision(const Caller& c, const std::string& session_id) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  auto s = store_.get_session(c.operator_id, session_id);
  if (!s) return s.error();
  if (!s->has_value()) return make_error(Reason::kNotFound, "session");
  const auto& r = **s;
  return DecisionView{r.id, r.state, r.decision, codes_from_json(r.reasons_json), r.expires, {}};
}

Result<NumberView> Service::register_number(const Caller& c, const std::string& session_id, const std::string& phone) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  auto s = store_.get_session(c.operator_id, session_id);
  if (!s) return s.error();
  if (!s->has_value()) return make_error(Reason::kNotFound, "session");
  const auto& rec = **s;
  if (rec.decision != "PASS") return make_error(Reason::kSessionNotPassed);
  // The registration window (issue 14): from the decision (a resolved review: its resolution).
  const std::int64_t window = std::min(cfg_.registration_window_s, cfg_.session_ttl_s);
  if (!rec.decided_at || now_() > *rec.decided_at + window)
    return make_error(Reason::kRegistrationWindowExpired,
                      "a PASS registers numbers for " + std::to_string(window) + " s after the decision");
  if (json::parse(rec.document_json, nullptr, false).contains("reverify_id_hash"))
    return make_error(Reason::kBadRequest, "a re-verification session cannot register numbers");
  const auto e164 = normalize_phone(phone);
  if (!e164) return make_error(Reason::kPhoneNumberInvalid);
  RegistrationRecord r;
  r.id = "r_" + random_hex(12);
  r.operator_id = c.operator_id;
  r.id_hash = rec.id_hash;
  r.number_hash = vault_.keyed_hash(*e164, "phone");
  r.number_sealed = vault_.seal(*e164, "phone:" + r.id);
  r.session_id = rec.id;
  r.created = now_();
  auto done = store_.register_number(r, cfg_.number_limit, c.key_id);
  if (!done) return done.error();
  return NumberView{done->id, *e164, done->created};
}

Result<std::vector<NumberView>> Service::list_numbers(const Caller& c, const std::string& session_id) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  auto s = store_.get_session(c.operator_id, session_id);
  if (!s) return s.error();
  if (!s->has_value()) return make_error(Reason::kNotFound, "session");
  if ((*s)->decision != "PASS") return make_error(Reason::kSessionNotPassed);
  auto regs = store_.list_registrations(c.operator_id, (*s)->id_hash);
  if (!regs) return regs.error();
  std::vector<NumberView> out;
  for (const auto& r : *regs) {
    if (!r.active) continue;
    auto phone = vault_.open(r.number_sealed, "phone:" + r.id);
    if (!phone) return make_error(Reason::kInternal, "sealed number");
    out.push_back({r.id, *phone, r.created});
  }
  return out;
}

Status Service::release_number(const Caller& c, const std::string& registration_id) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  auto r = store_.release_registration(c.operator_id, registration_id, c.key_id, now_());
  if (!r) return r.error();
  return ok_status();
}

Result<std::string> Service::subject_hash(const std::string& id_number, const std::string& mrz) {
  return document_subject_hash(vault_, id_number, mrz, now_());
}

Result<std::vector<Service::SubjectNumber>> Service::numbers_of_subject(const Caller& c, const std::string& id_number,
                                                                        const std::string& mrz) {
  if (c.role != Role::kAdmin) return forbidden();
  auto h = subject_hash(id_number, mrz);
  if (!h) return h.error();
  auto regs = store_.list_registrations(c.operator_id, *h);
  if (!regs) return regs.error();
  std::vector<SubjectNumber> out;
  for (const auto& r : *regs) {
    auto phone = vault_.open(r.number_sealed, "phone:" + r.id);
    if (!phone) return make_error(Reason::kInternal, "sealed number");
    out.push_back({{r.id, *phone, r.created}, r.active});
  }
  return out;
}

Result<std::int64_t> Service::delete_subject_by_document(const Caller& c, const std::string& id_number,
                                                         const std::string& mrz) {
  if (c.role != Role::kAdmin) return forbidden();
  auto h = subject_hash(id_number, mrz);
  if (!h) return h.error();
  return store_.delete_subject(c.operator_id, *h, c.key_id);
}

Result<std::int64_t> Service::clear_locks(const Caller& c, const std::string& id_number, const std::string& mrz) {
  if (c.role != Role::kAdmin) return forbidden();
  auto h = subject_hash(id_number, mrz);
  if (!h) return h.error();
  return clear_subject_locks(store_, c.operator_id, *h, c.key_id);
}

Result<std::vector<ReviewRecord>> Service::list_reviews(const Caller& c, const std::string& status) {
  if (!can(c, {Role::kClerk, Role::kAdmin})) return forbidden();
  if (status != "open" && status != "resolved" && !status.empty())
    return make_error(Reason::kBadRequest, "status must be open or resolved");
  return store_.list_reviews(c.operator_id, status);
}

Result<std::vector<ReviewItem>> Service::review_items(const Caller& c, const std::string& status) {
  auto rs = list_reviews(c, status);
  if (!rs) return rs.error();
  std::vector<ReviewItem> out;
  for (auto& r : *rs) {
    ReviewItem it;
    auto s = store_.get_session(c.operator_id, r.session_id);
    if (!s) return s.error();
    if (s->has_value()) {
      const auto& rec = **s;
      const json doc = json::parse(rec.document_json.empty() ? "{}" : rec.document_json, nullptr, false);
      it.channel = rec.channel;
      it.reasons = codes_from_json(rec.reasons_json);
      if (doc.is_object()) {
        it.portrait_quality = codes_from_json(doc.value("portrait_quality", json::array()).dump());
        it.document_kind = doc.value("kind", "");
        it.expired = doc.value("expired", false);
        it.minor = doc.value("minor", false);
        it.submitted_by = doc.value("submitted_by", "");
      }
      it.started = rec.created;
      it.consent_at = rec.consent_at;
      it.decided_at = rec.decided_at;
    }
    it.review = std::move(r);
    out.push_back(std::move(it));
  }
  return out;
}

Result<ReviewRecord> Service::resolve_review(const Caller& c, const std::string& review_id, const std::string& resolution,
                                             const std::string& comment) {
  if (c.role != Role::kSupervisor && c.role != Role::kAdmin) return forbidden();
  if (resolution != "PASS" && resolution != "FAIL") return make_error(Reason::kBadRequest, "resolution must be PASS or FAIL");
  if (comment.empty() || comment.size() > 2000) return make_error(Reason::kBadRequest, "a comment (1-2000 characters) is required");
  // Four eyes: the key that ran the check does not resolve it.
  auto all = store_.list_reviews(c.operator_id, "");
  if (!all) return all.error();
  for (const auto& r : *all) {
    if (r.id != review_id) continue;
    auto s = store_.get_session(c.operator_id, r.session_id);
    if (!s) return s.error();
    const json doc = s->has_value() ? json::parse((*s)->document_json.empty() ? "{}" : (*s)->document_json, nullptr, false)
                                    : json::object();
    if (doc.is_object() && doc.value("submitted_by", "") == c.key_id) return make_error(Reason::kReviewOwnCase);
  }
  return store_.resolve_review(c.operator_id, review_id, resolution, comment, c.key_id, now_());
}

Result<std::vector<AuditEntry>> Service::audit(const Caller& c, std::int64_t after_seq, int limit) {
  if (c.role != Role::kAuditor) return forbidden();
  return store_.list_audit(c.operator_id, after_seq, std::clamp(limit, 1, 1000));
}

Result<ChainCheck> Service::verify_audit(const Caller& c) {
  if (c.role != Role::kAuditor && c.role != Role::kAdmin) return forbidden();
  return store_.verify_audit();
}

Result<ChainCheck> Service::verify_operator_audit(const Caller& c) {
  if (c.role != Role::kAuditor && c.role != Role::kAdmin) return forbidden();
  std::vector<AuditEntry> all;
  for (std::int64_t after = 0;;) {
    auto page = store_.list_audit(c.operator_id, after, 1000);
    if (!page) return page.error();
    if (page->empty()) break;
    after = page->back().seq;
    all.insert(all.end(), page->begin(), page->end());
  }
  return registry_detail::verify_operator_chain(all);
}

Result<std::int64_t> Service::delete_subject(const Caller& c, const std::string& session_id) {
  if (c.role != Role::kAdmin) return forbidden();
  auto s = store_.get_session(c.operator_id, session_id);
  if (!s) return s.error();
  if (!s->has_value() || (*s)->id_hash.empty()) return make_error(Reason::kNotFound, "session with a document");
  return store_.delete_subject(c.operator_id, (*s)->id_hash, c.key_id);
}

}  // namespace simkyc
