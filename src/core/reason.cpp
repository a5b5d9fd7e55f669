#include "core/reason.h"

#include <array>

namespace simkyc {
namespace {
constexpr std::array kReasons = {
#define X(name, code, message, hint_key, hint) ReasonInfo{Reason::name, code, message, hint_key, hint},
#include "core/reasons.def"
#undef X
};
}  // namespace

const ReasonInfo& info(Reason r) { return kReasons[static_cast<std::size_t>(r)]; }

std::optional<Reason> reason_from_code(std::string_view c) {
  for (const auto& r : kReasons)
    if (r.code == c) return r.reason;
  return std::nullopt;
}

std::span<const ReasonInfo> all_reasons() { return kReasons; }

}  // namespace simkyc
