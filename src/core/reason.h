// src/core/reason.h — the one reason enum of simkyc.
// Every reason a user, a clerk or a log can see is a value here, listed in reasons.def with a
// stable string code (e.g. "FACE_TOO_SMALL"), a log message and a customer hint.
#pragma once
#include <optional>
#include <span>
#include <string_view>

namespace simkyc {

enum class Reason {
#define X(name, code, message, hint_key, hint) name,
#include "core/reasons.def"
#undef X
};

struct ReasonInfo {
  Reason reason;
  std::string_view code;      // stable machine code, e.g. "FACE_TOO_SMALL"
  std::string_view message;   // for logs and developers; never contains personal data
  std::string_view hint_key;  // key for a localised customer hint ("" for kOk)
  std::string_view hint;      // English customer hint text
};

// Ensures: a valid entry for every enum value.
const ReasonInfo& info(Reason r);
inline std::string_view code(Reason r) { return info(r).code; }
// Ensures: nullopt when `code` is not a known code.
std::optional<Reason> reason_from_code(std::string_view code);
// All reasons, in declaration order (for docs and tests).
std::span<const ReasonInfo> all_reasons();

}  // namespace simkyc
