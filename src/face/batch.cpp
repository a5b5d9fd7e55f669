#include "face/batch.h"

#include <atomic>
#include <thread>

namespace simkyc {

std::vector<BatchItem> analyze_files(const std::vector<std::filesystem::path>& files, const FaceAnalyzer& analyzer,
                                     int threads, const std::function<void(std::size_t, std::size_t)>& progress,
                                     const ImageLimits& limits) {
  std::vector<BatchItem> out(files.size());
  std::atomic<std::size_t> next{0}, done{0};
  auto work = [&](FaceAnalyzer a) {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      BatchItem& item = out[i];
      auto img = load_image(files[i], limits);
      if (!img) {
        item.error = img.error();
      } else if (auto fa = a.analyze(img->bgr); !fa) {
        item.error = fa.error();
      } else {
        item.descriptor = std::move(fa->descriptor);
        item.quality = fa->quality.reasons;
      }
      const std::size_t d = done.fetch_add(1) + 1;
      if (progress) progress(d, files.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, analyzer.clone());
  work(analyzer.clone());
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace simkyc
