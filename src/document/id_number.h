// src/document/id_number.h — Chinese resident ID numbers (GB 11643-1999), and the result type
// every document check shares (DocumentCheck: what policy needs to know about a document).
//
// A check never throws and never fails as a call: every problem with the input is a reason in
// the result.  Nothing here reads the clock: the caller passes the date `at` the check is for.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/reason.h"

namespace simkyc::document {

// ---- shared by every document check (mrz.h uses these too) ----------------------------------

using Date = std::chrono::year_month_day;

enum class Sex { kUnspecified, kFemale, kMale };
enum class DocumentKind {
  kCnResidentId,  // 居民身份证 number (and the HK/Macao/Taiwan residence permits, same structure)
  kPassport,      // MRZ document code P... (TD3)
  kIdCard,        // MRZ document code A..., C..., I... (TD1/TD2 cards, e.g. travel permits)
  kVisa,          // MRZ document code V... (MRV-A / MRV-B)
  kUnknown,       // the input was not recognised as any document layout
};

// "CN_RESIDENT_ID", "PASSPORT", "ID_CARD", "VISA", "UNKNOWN".
std::string_view to_string(DocumentKind kind);
// "female", "male", "unspecified".
std::string_view to_string(Sex sex);

// What policy needs from any document check.  Policy rules ("under 16 needs a guardian",
// "passports only") are written against these fields, never against document internals.
struct DocumentCheck {
  DocumentKind kind = DocumentKind::kUnknown;
  bool valid = false;    // every format, check-digit and date check passed (expiry aside)
  bool expired = false;  // expiry date is before `at` (a document is valid through its expiry date)
  std::optional<Date> birth_date;   // absent when unknown or unreadable
  std::optional<Date> expiry_date;  // absent when the document carries none or it is unreadable
  std::optional<int> age;           // full years at `at`; absent when birth_date is absent
  bool minor = false;               // age < 18; false when age is unknown (check age.has_value())
  Sex sex = Sex::kUnspecified;
  std::vector<Reason> reasons;      // every failure, DOCUMENT_EXPIRED included; empty iff ok()

  // Ensures: true iff valid && !expired (the document may be used at `at`).
  bool ok() const { return valid && !expired; }
};

// Parses a strict ISO date "YYYY-MM-DD" (a real calendar date, years 0001..9999).
// Ensures: nullopt for anything else (no time part, no surrounding spaces).
std::optional<Date> parse_iso_date(std::string_view text);
// Requires: d.ok().  Ensures: "YYYY-MM-DD".
std::string format_iso_date(Date d);
// Full years lived at `at` by someone born on `birth`; a 29 February birthday is reached on
// 1 March in common years.  Requires: birth.ok(), at.ok(), birth <= at.  Ensures: >= 0.
int age_at(Date birth, Date at);

// Who needs a parent or guardian to register a number (issue 14): the one rule that both the
// service and `simkyc document check` apply.  `minor` above stays "under 18" (legal majority);
// the guardian rule has its own configurable age, 16 by default (a 16-year-old needs no guardian).
inline constexpr int kDefaultGuardianAge = 16;
// Ensures: true iff age is known and age < guardian_age.
bool needs_guardian(const std::optional<int>& age, int guardian_age = kDefaultGuardianAge);

// The fields shared by every check, as JSON: kind, valid, expired, ok, birth_date, expiry_date,
// age, minor, sex, reasons [{code, message, hint}] (dates as "YYYY-MM-DD" or null).
nlohmann::json to_json(const DocumentCheck& check);

// ---- resident ID numbers --------------------------------------------------------------------

// Birth dates before this are rejected as ID_NUMBER_BIRTH_DATE (no one alive was born earlier).
inline constexpr int kEarliestBirthYear = 1900;

struct IdNumberResult {
  DocumentCheck check;             // kind is kCnResidentId; expired is always false (no expiry)
  std::string number;              // normalised 18 characters (a final x upper-cased to X);
                                   // empty on a format error
  bool converted_from_15 = false;  // the input was a legacy 15-digit number
  std::string region_code;         // first two digits ("" on a format error)
  std::string_view region_name;    // English name of the province-level region, "" if unknown
};

// Checks a resident ID number at date `at`.
// Accepts: 18 characters (17 digits then a digit, X or x) or 15 digits (legacy: birth year 19YY,
// no check character; converted to 18 with a computed check character).  Leading and trailing
// ASCII spaces are ignored.
// Checks, each with its own reason: format (ID_NUMBER_FORMAT; nothing else is checked then),
// check character (ID_NUMBER_CHECKSUM, 18-character input only), province-level region
// (ID_NUMBER_REGION), birth date a calendar date from 1900 on (ID_NUMBER_BIRTH_DATE) and not after
// `at` (ID_NUMBER_BIRTH_DATE_FUTURE).  Sex from the 17th digit (odd male, even female).
// Requires: at.ok().  Ensures: check.valid iff check.reasons is empty; birth date, age and
// minor are filled whenever the birth date is a real date not after `at`, even when other checks
// failed.
IdNumberResult check_id_number(std::string_view input, Date at);

// The ISO 7064 MOD 11-2 check character ('0'..'9' or 'X') of the first 17 characters.
// Requires: first17.size() == 17 and all ASCII digits (otherwise returns '?').
char id_number_check_char(std::string_view first17);

// Converts a legacy 15-digit number to 18 characters: inserts "19" before the 2-digit birth year
// and appends the check character.  Ensures: nullopt unless the input is exactly 15 ASCII digits.
// Does not validate region or date.
std::optional<std::string> convert_15_to_18(std::string_view number15);

// JSON: to_json(check) plus "id_number": {number, converted_from_15, region_code, region}.
nlohmann::json to_json(const IdNumberResult& result);

}  // namespace simkyc::document
