// src/cli/format.h — shared output helpers for the CLI (JSON and human text).
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/result.h"
#include "face/analyzer.h"
#include "policy/verifier.h"

namespace simkyc::cli {

// [{code, message, hint}] for each reason.
nlohmann::json reasons_json(const std::vector<Reason>& reasons);
// Quality measurements and reasons of one analysed face.
nlohmann::json analysis_json(const FaceAnalysis& fa);
// Prints an input/usage error (as {"error":{code,message}} with json) and returns exit code 2.
int report_error(const Error& e, bool json);
// Prints JSON to stdout, pretty.
void print_json(const nlohmann::json& j);
// Adds --fmr and --calibration options shared by verify/compare.
struct MatchOptions {
  double fmr = 1e-4;
  std::string calibration;
  std::string embedder = kDecisionEmbedder;   // any make_embedder id; each has its own calibration table
  std::string detector = kDefaultDetector;     // any make_detector name
};
void add_match_options(CLI::App* cmd, MatchOptions& opts);

}  // namespace simkyc::cli
