// libFuzzer target for every JSON request body of the HTTP API (src/api/server.cpp).  Build and
// run with scripts/fuzz.sh.
//
// The server's body helpers (json_body, field, image_field, challenge_frames, error_body) live in
// an anonymous namespace of server.cpp; this target includes that file, so it fuzzes exactly the
// code the server runs (the linker drops the route table it does not reach).  Input: the first
// byte picks the route, the rest is the body as the client sent it.  For each route the target
// reads the fields that route's handler reads, through the same helpers, then runs the
// validators those fields meet before the store is touched (the channel names, consent flag,
// ID-number and MRZ checks, image guard, phone normalisation, review resolution, key role).
// Besides the sanitizers it checks that every refusal is kBadRequest with a JSON error body,
// and aborts when a promise is broken.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../../src/api/server.cpp"
#include "document/id_number.h"
#include "document/mrz.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// A refusal of the body helpers: always 400 with a code, a message and a hint, serialisable.
// A body the routes refuse: one of json_body's refusals (issue 14's per-route rules included), a 4xx.
void check_refusal(const simkyc::Error& e) {
  using simkyc::Reason;
  require(e.reason == Reason::kBadRequest || e.reason == Reason::kUnknownField ||
          e.reason == Reason::kUnsupportedMediaType || e.reason == Reason::kJsonBodyTooLarge);
  const int status = simkyc::http_status(e.reason);
  require(status >= 400 && status < 500);
  const auto body = simkyc::error_body(e);
  require(!body.at("code").get<std::string>().empty() && body.at("hint").is_string());
  (void)body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The image guard with small limits (fuzz_image covers it in depth).
void guard(std::span<const std::uint8_t> bytes) {
  simkyc::ImageLimits limits;
  limits.max_bytes = 1u << 16;
  limits.max_pixels = 1u << 16;
  limits.max_side = 1024;
  auto r = simkyc::decode_image(bytes, limits);
  if (!r) require(r.error().reason != simkyc::Reason::kOk);
}

enum Route : std::uint8_t { kSessions, kConsent, kDocument, kLive, kRegistrations, kResolve, kKeys, kSubjects, kRouteCount };

// Each route's accepted fields, as server.cpp's handlers give them to json_body.
simkyc::BodyRule rule_of(Route r) {
  switch (r) {
    case kSessions: return {{"channel", "device_id", "reverify_number"}};
    case kConsent: return {{"accepted", "version"}};
    case kDocument: return {{"id_number", "mrz", "portrait"}, true};
    case kLive: return {{"image", "frames", "capture"}, true};
    case kRegistrations: return {{"phone_number"}};
    case kResolve: return {{"resolution", "comment"}};
    case kKeys: return {{"role"}};
    case kSubjects: return {{"id_number", "mrz"}};
    case kRouteCount: break;
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace simkyc;
  if (size == 0) return 0;
  const auto route = static_cast<Route>(data[0] % kRouteCount);
  httplib::Request req;
  req.method = "POST";
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  req.set_header("Content-Type", "application/json");

  auto body = json_body(req, rule_of(route));
  if (!body) {
    check_refusal(body.error());
    return 0;
  }
  require(body->is_object());
  switch (route) {
    case kSessions: {
      const std::string channel = field(req, *body, "channel");
      (void)field(req, *body, "device_id");
      const std::string number = field(req, *body, "reverify_number");
      if (!number.empty()) {
        if (auto e164 = normalize_phone(number)) require(normalize_phone(*e164) == e164);
      }
      (void)(channel == "counter" || channel == "online");
      break;
    }
    case kConsent: {
      // As the consent route reads them: `accepted` must be a boolean, `version` a string, else 400.
      if (body->contains("accepted") && !(*body)["accepted"].is_boolean()) break;
      (void)field(req, *body, "version");
      break;
    }
    case kDocument: {
      auto portrait = image_field(req, *body, "portrait");
      if (!portrait) check_refusal(portrait.error());
      const std::string id = field(req, *body, "id_number");
      const std::string mrz = field(req, *body, "mrz");
      const auto today = document::Date{std::chrono::year{2026}, std::chrono::December, std::chrono::day{2}};
      if (!id.empty()) (void)document::check_id_number(id, today);
      if (!mrz.empty()) (void)document::check_mrz(mrz, today);
      if (portrait) guard(*portrait);
      break;
    }
    case kLive: {
      auto live = image_field(req, *body, "image");
      if (!live) check_refusal(live.error());
      auto frames = challenge_frames(req, *body);
      if (!frames) {
        check_refusal(frames.error());
      } else {
        require(frames->bytes.size() <= 90 && frames->views.size() == frames->bytes.size());
        for (std::size_t i = 0; i < frames->views.size(); ++i)
          require(frames->views[i].bytes.data() == frames->bytes[i].data());
      }
      if (live) guard(*live);
      break;
    }
    case kRegistrations: {
      const std::string phone = field(req, *body, "phone_number");
      if (auto e164 = normalize_phone(phone)) {
        require((*e164)[0] == '+' && e164->size() >= 9 && e164->size() <= 16);
        require(normalize_phone(*e164) == e164);
      }
      break;
    }
    case kResolve: {
      const std::string resolution = field(req, *body, "resolution");
      (void)field(req, *body, "comment");
      (void)(resolution == "PASS" || resolution == "FAIL");
      break;
    }
    case kKeys: {
      const auto role = role_from_string(field(req, *body, "role"));
      if (role) require(role_from_string(to_string(*role)) == role);
      break;
    }
    case kSubjects: {
      const auto today = document::Date{std::chrono::year{2026}, std::chrono::December, std::chrono::day{2}};
      const std::string id = field(req, *body, "id_number");
      if (!id.empty()) (void)document::check_id_number(id, today);
      break;
    }
    case kRouteCount: break;
  }
  return 0;
}
