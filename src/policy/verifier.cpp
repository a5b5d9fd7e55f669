#include "policy/verifier.h"

#include "match/copy_check.h"

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
  // The two photos are independent: decode and analyse the document on a second thread.
  struct Side {
    Result<Image> image = make_error(Reason::kInternal);
    Result<FaceAnalysis> face = make_error(Reason::kInternal);
    double decode_ms = 0;
  };
  const auto side = [this](std::span<const std::uint8_t> bytes, FaceAnalyzer& analyzer) {
    Side s;
    Stopwatch sw;
    s.image = decode_image(bytes, cfg_.limits);
    s.decode_ms = sw.elapsed_ms();
    if (s.image) s.face = analyzer.analyze(s.image->bgr);
    return s;
  };
  const auto policy = cfg_.parallel ? std::launch::async : std::launch::deferred;
  auto doc_future = std::async(policy, [&] { return side(document_image, *doc_analyzer_); });
  Side live = side(live_image, *live_analyzer_);
  Side doc = doc_future.get();
  if (!doc.image) return doc.image.error();
  if (!live.image) return live.image.error();
  VerifyOutcome out;
  out.timings_ms["decode"] = doc.decode_ms + live.decode_ms;
  out = decide_on(std::move(doc.face), std::move(live.face), std::move(out));
  out.timings_ms["total"] = total.elapsed_ms();
  return out;
}

VerifyOutcome Verifier::verify(const Image& document_image, const Image& live_image) {
  Stopwatch total;
  // The two faces are independent: analyse the document on a second thread.
  const auto policy = cfg_.parallel ? std::launch::async : std::launch::deferred;
  auto doc_future = std::async(policy, [&] { return doc_analyzer_->analyze(document_image.bgr); });
  auto live = live_analyzer_->analyze(live_image.bgr);
  auto doc = doc_future.get();
  VerifyOutcome out = decide_on(std::move(doc), std::move(live), {});
  out.timings_ms["total"] = total.elapsed_ms();
  return out;
}

VerifyOutcome Verifier::decide_on(Result<FaceAnalysis> doc, Result<FaceAnalysis> live, VerifyOutcome out) const {
  out.threshold = pass_threshold_;
  out.target_fmr = cfg_.policy.target_fmr;
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
    return out;
  }
  Stopwatch cmp;
  const float score = similarity(doc->descriptor, live->descriptor);
  out.timings_ms["compare"] = cmp.elapsed_ms();
  MatchInput in{doc->quality.reasons, live->quality.reasons, score, pass_threshold_, review_threshold_};
  const PolicyResult pr = decide(in, cfg_.policy);
  out.decision = pr.decision;
  out.reasons = pr.reasons;
  // The document's own picture (or a resized, re-encoded or cropped copy) is not a live capture.
  if (is_document_copy(chip_print(doc->chip.bgr), chip_print(live->chip.bgr))) {
    out.decision = Decision::kFail;
    out.reasons.insert(out.reasons.begin(), Reason::kLiveIsDocumentCopy);
  }
  out.score = score;
  out.document = std::move(doc.value());
  out.live = std::move(live.value());
  return out;
}

}  // namespace simkyc
