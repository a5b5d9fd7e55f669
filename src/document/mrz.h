// src/document/mrz.h — machine readable zones (ICAO Doc 9303): TD1 (3x30, cards), TD2 (2x36),
// TD3 (2x44, passports), and the visa layouts MRV-A (2x44) and MRV-B (2x36).
//
// Input is untrusted text (from OCR, a reader, a user).  A check never throws and never fails as
// a call: every problem is a reason in the result.  Nothing here reads the clock.
//
// Two-digit years (the window rules):
//   * birth date YYMMDD: the latest date with that YY that is not after `at` — births are always
//     in the past (at 2024-06-01, "240531" is 2024-05-31 and "240602" is 1924-06-02);
//   * expiry date YYMMDD: the year with that YY in [at.year - 50, at.year + 49] — the window is
//     centred on `at` so that both recently expired and long-valid documents resolve correctly
//     (at 2024, "120415" is 2012, "730101" is 2073 and "740101" is 1974).
// A document is valid through its expiry date: expired iff expiry < at.
//
// OCR confusions: in numeric positions only (the birth and expiry dates and every check digit),
// the letters O I B S Z G are read as 0 1 8 5 2 6 — and the change is kept only when the check
// digit over the changed field then matches.  Kept changes are listed in MrzResult::corrections;
// otherwise the text is judged as given.  Alphanumeric fields (document number, optional data,
// names, state codes) are never changed: no check digit could tell a letter from a digit there.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "document/id_number.h"  // DocumentCheck, Date, Sex, DocumentKind

namespace simkyc::document {

// Input longer than this many bytes is rejected as MRZ_TOO_LONG before any parsing.
inline constexpr std::size_t kMaxMrzInput = 200;

enum class MrzFormat { kTd1, kTd2, kTd3, kMrvA, kMrvB };
// "TD1", "TD2", "TD3", "MRV-A", "MRV-B".
std::string_view to_string(MrzFormat format);

struct MrzCorrection {
  int line = 0;    // 1-based line of the normalised MRZ
  int column = 0;  // 1-based position in that line
  char from = 0;   // character as read
  char to = 0;     // digit it was read as
  std::string_view field;  // e.g. "birth_date", "expiry_date_check_digit", "composite_check_digit"
};

// Fields as printed, fillers ('<') at the end removed.  Empty when the layout was not recognised.
struct MrzFields {
  std::string document_code;         // e.g. "P", "I", "AC", "V"
  std::string issuing_state;         // e.g. "UTO", "D"
  std::string primary_identifier;    // surname(s); components separated by one space
  std::string secondary_identifier;  // given name(s); components separated by one space
  std::string document_number;       // full number (TD1/TD2 numbers over 9 characters joined)
  std::string nationality;
  std::string birth_date;            // YYMMDD as read after kept corrections
  char sex = '<';                    // 'F', 'M', 'X' or '<' as printed
  std::string expiry_date;           // YYMMDD as read after kept corrections
  std::string personal_number;       // TD3: positions 29-42 of line 2
  std::string optional_data;         // TD1 line 1 (after a long document number), TD2, MRV
  std::string optional_data_2;       // TD1 line 2
};

struct MrzResult {
  DocumentCheck check;               // kind from the document code; expiry and age filled
  std::optional<MrzFormat> format;   // absent when line count/lengths match no layout
  MrzFields fields;
  std::vector<MrzCorrection> corrections;  // kept OCR fixes, in the order they were made
  std::vector<std::string> lines;    // normalised MRZ lines with the kept corrections applied
};

// Checks an MRZ at date `at`.
// Accepts: lines separated by "\n" or "\r\n" (a lone "\r" also separates); spaces and tabs
// around each line and empty lines are ignored; a single line of 90, 72 or 88 characters is
// split into 3x30, 2x36 or 2x44.
// Reasons: MRZ_TOO_LONG (input > kMaxMrzInput bytes), MRZ_CHARACTER (anything but A-Z 0-9 <
// inside a line), MRZ_FORMAT (line count/lengths) — each ends the check; then
// MRZ_DOCUMENT_CODE, MRZ_FIELD (letters-only fields holding digits), MRZ_SEX, MRZ_BIRTH_DATE,
// MRZ_EXPIRY_DATE, MRZ_CHECK_DIGIT_{DOCUMENT_NUMBER,BIRTH_DATE,EXPIRY_DATE,OPTIONAL_DATA,
// COMPOSITE} and DOCUMENT_EXPIRED, each at most once.
// A birth or expiry date of six fillers means "unknown / none": no reason, date left empty.
// Requires: at.ok().
// Ensures: check.valid iff no reason other than DOCUMENT_EXPIRED; check.expired iff the expiry
// date is known and before `at`; birth date, age and minor filled whenever the birth date was
// read as a real date (even if other checks failed).
MrzResult check_mrz(std::string_view text, Date at);

// The ICAO 9303 check digit (weights 7, 3, 1; 0-9 -> 0-9, A-Z -> 10-35, '<' -> 0) of `field`.
// Ensures: 0..9, or -1 when `field` holds a character outside A-Z 0-9 <.
int mrz_check_digit(std::string_view field);

// The window rules above.  Requires: at.ok().  Ensures: nullopt unless `yymmdd` is six digits
// forming a real calendar date in the resolved year.
std::optional<Date> mrz_birth_date(std::string_view yymmdd, Date at);
std::optional<Date> mrz_expiry_date(std::string_view yymmdd, Date at);

// JSON: to_json(check) plus "mrz": {format, lines, document_code, issuing_state,
// primary_identifier, secondary_identifier, document_number, nationality, birth_date_raw, sex,
// expiry_date_raw, personal_number, optional_data, optional_data_2} and "corrections":
// [{line, column, from, to, field}].
nlohmann::json to_json(const MrzResult& result);

}  // namespace simkyc::document
