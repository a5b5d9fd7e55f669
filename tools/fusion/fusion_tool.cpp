// fusion_tool — experiments for issue 7 (East Asian accuracy) and the fitting of the shipped
// score model (docs/accuracy.md, "Improving East Asian accuracy (issue 7)").
//
//   fusion_tool dump --folders DIR | --pairs LIST --out FILE [--variant ID[:MARGIN]]...
//       every image embedded once per variant, as itself and mirrored (cache under .cache/)
//   fusion_tool cv --data EAST.desc [--other NAME=FILE.desc]... [--folds 5] [--json OUT]
//       identity-disjoint cross-validation of every method on EAST, and each method fitted on all
//       of EAST applied to the other sets
//   fusion_tool fit --data EAST.desc --method NAME --out models/fusion/NAME.json
//       fits a method on every identity of EAST and writes the model file the fusion embedder loads
//   fusion_tool calibrate-cv --data EAST.desc --method NAME --id ID --out models/calibration/ID.json
//       calibration table from the method's out-of-fold (cross-validated) scores
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "descriptor_cache.h"
#include "experiments.h"

using namespace simkyc;

int main(int argc, char** argv) {
  CLI::App app{"fusion_tool: descriptor cache, cross-validated score experiments, fitting (issue 7)"};
  app.require_subcommand(1);
  std::string model_dir = SIMKYC_DEFAULT_MODEL_DIR;
  app.add_option("--models", model_dir, "Model directory")->capture_default_str();

  std::string folders, pairs, out;
  std::vector<std::string> variants = {"dlib_resnet_v1", "faceres_v1:0.05", "faceres_v1:0.1", "faceres_v1:0.2",
                                       "faceres_v1:0.4"};
  int threads = 0;
  auto* dump = app.add_subcommand("dump", "Embed every image of a set once per variant (and mirrored)");
  dump->add_option("--folders", folders, "One sub-folder per person");
  dump->add_option("--pairs", pairs, "Pair list (as simkyc eval)");
  dump->add_option("--out", out, "Descriptor file to write")->required();
  dump->add_option("--variant", variants, "ID or ID:BOX_MARGIN (box chips)")->capture_default_str();
  dump->add_option("--threads", threads, "Worker threads (default: all cores)");

  fusion::CvOptions cv;
  auto* cvc = app.add_subcommand("cv", "Identity-disjoint cross-validation of every method");
  cvc->add_option("--data", cv.data, "Descriptor file of the development set (folders)")->required();
  cvc->add_option("--extra", cv.extra, "Descriptor file of the same images with more variants (merged)");
  cvc->add_option("--other", cv.others, "NAME=FILE: other sets, scored by each method fitted on all of --data");
  cvc->add_option("--folds", cv.folds, "Folds over people")->capture_default_str();
  cvc->add_option("--seed", cv.seed, "Seed of the fold assignment")->capture_default_str();
  cvc->add_option("--method", cv.methods, "Only these methods (default: all)");
  cvc->add_option("--json", cv.json_out, "Also write every figure as JSON");

  fusion::FitOptions fit;
  auto* fitc = app.add_subcommand("fit", "Fit a method on every identity and write its model file");
  fitc->add_option("--data", fit.data, "Descriptor file of the development set (folders)")->required();
  fitc->add_option("--extra", fit.extra, "Descriptor file of the same images with more variants (merged)");
  fitc->add_option("--method", fit.method, "Method name (see `cv`)")->required();
  fitc->add_option("--id", fit.id, "Model id written into the file")->required();
  fitc->add_option("--out", fit.out, "Model file (JSON)")->required();

  fusion::CalibrateCvOptions cal;
  auto* calc = app.add_subcommand("calibrate-cv", "Calibration table from a method's out-of-fold cross-validated scores");
  calc->add_option("--data", cal.data, "Descriptor file of the development set (folders)")->required();
  calc->add_option("--extra", cal.extra, "Descriptor file of the same images with more variants (merged)");
  calc->add_option("--method", cal.method, "Method name (see `cv`; not a nested one)")->required();
  calc->add_option("--id", cal.id, "Model id the table is for")->required();
  calc->add_option("--out", cal.out, "Table to write (JSON)")->required();

  CLI11_PARSE(app, argc, argv);
  if (dump->parsed()) {
    if (folders.empty() == pairs.empty()) {
      std::cerr << "give --folders or --pairs\n";
      return 2;
    }
    std::vector<fusion::Variant> vs;
    for (const auto& v : variants) {
      auto p = fusion::parse_variant(v);
      if (!p) {
        std::cerr << p.error().detail << "\n";
        return 2;
      }
      vs.push_back(*p);
    }
    const int t = threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    auto s = fusion::embed_set(model_dir, folders, pairs, vs, t);
    if (!s) {
      std::cerr << s.error().code() << ": " << s.error().detail << "\n";
      return 2;
    }
    if (auto st = fusion::save(*s, out); !st) {
      std::cerr << st.error().detail << "\n";
      return 2;
    }
    long long fte = 0;
    for (char o : s->ok) fte += o ? 0 : 1;
    std::cerr << "[dump] " << s->images.size() << " images, " << fte << " not enrolled, " << s->variants.size()
              << " variants -> " << out << "\n";
    return 0;
  }
  if (cvc->parsed()) return fusion::run_cv(cv);
  if (fitc->parsed()) return fusion::run_fit(fit);
  if (calc->parsed()) return fusion::run_calibrate_cv(cal);
  return 2;
}
