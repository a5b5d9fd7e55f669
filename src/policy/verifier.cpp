#include "policy/verifier.h"

#include <future>

#include "core/clock.h"

namespace simkyc {

Result<Verifier> Verifier::load(const std::filesystem::path& model_dir, const VerifierConfig& cfg) {
  Verifier v;
  v.cfg_ = cfg;
  auto analyzer = FaceAnalyzer::load(model_dir, cfg.analyzer);
  if (!analyzer) return analyzer.error();
  const auto model = analyzer->embedder_info().name;
  const auto table_path = cfg.calibration.empty() ? default_calibration_path(model_dir, model) : cfg.calibration;
  auto table = load_calibration(table_path);
  if (!table) return table.error();
  if (!table_fits(*table, model))
    return make_error(Reason::kConfigError, "calibration table is for " + table->model + ", embedder is " + model);
  auto pass = table->threshold_for(cfg.policy.target_fmr);
  if (!pass) return pass.error();
  auto review = table->threshold_for(std::max(cfg.policy.review_fmr, cfg.policy.target_fmr));
  if (!review) return review.error();
  v.calibration_ = std::move(table.value());
  v.pass_threshold_ = *pass;
  v.review_threshold_ = std::min(*review, *pass);
  v.live_analyzer_ = analyzer->clone();
  v.doc_analyzer_ = std::move(analyzer.value());
  return v;
}

Result<VerifyOutcome> Verifier::verify(std::span<const std::uint8_t> document_image,
                                       std::span<const std::uint8_t> live_image) {
  Stopwatch total;
  auto doc = decode_image(document_image, cfg_.limits);
  if (!doc) return doc.error();
  auto live = decode_image(live_image, cfg_.limits);
  if (!live) return live.error();
  const double decode_ms = total.elapsed_ms();
  VerifyOutcome out = verify(*doc, *live);
  out.timings_ms["decode"] = decode_ms;
  out.timings_ms["total"] = total.elapsed_ms();
  return out;
}

VerifyOutcome Verifier::verify(const Image& document_image, const Image& live_image) {
  Stopwatch total;
  VerifyOutcome out;
  out.threshold = pass_threshold_;
  out.target_fmr = cfg_.policy.target_fmr;
  // The two faces are independent: analyse the document on a second thread.
  const auto policy = cfg_.parallel ? std::launch::async : std::launch::deferred;
  auto doc_future = std::async(policy, [&] { return doc_analyzer_->analyze(document_image.bgr); });
  auto live = live_analyzer_->analyze(live_image.bgr);
  auto doc = doc_future.get();
  for (const auto* fa : {&doc, &live}) {
    if (!fa->ok()) continue;
    for (const auto& [k, ms] : (*fa)->timings_ms) out.timings_ms[k] += ms;
  }
  if (!doc || !live) {
    out.decision = Decision::kFail;
    for (const auto* fa : {&doc, &live})
      if (!fa->ok()) out.reasons.push_back(fa->error().reason);
    if (doc) out.document = std::move(doc.value());
    if (live) out.live = std::move(live.value());
    out.timings_ms["total"] = total.elapsed_ms();
    return out;
  }
  Stopwatch cmp;
  const float score = similarity(doc->descriptor, live->descriptor);
  out.timings_ms["compare"] = cmp.elapsed_ms();
  MatchInput in{doc->quality.reasons, live->quality.reasons, score, pass_threshold_, review_threshold_};
  const PolicyResult pr = decide(in, cfg_.policy);
  out.decision = pr.decision;
  out.reasons = pr.reasons;
  out.score = score;
  out.document = std::move(doc.value());
  out.live = std::move(live.value());
  out.timings_ms["total"] = total.elapsed_ms();
  return out;
}

}  // namespace simkyc
