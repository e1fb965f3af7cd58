#include "sgmim/report/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "sgmim/error.h"

namespace sgmim::report {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || std::fabs(seconds) >= 1e15) return "?";
  const long long total = std::llround(std::fabs(seconds));
  const long long days = total / 86400;
  char clock[32];
  std::snprintf(clock, sizeof clock, "%lld:%02lld:%02lld", total % 86400 / 3600, total % 3600 / 60, total % 60);
  std::string out = seconds < 0 && total > 0 ? "-" : "";
  if (days > 0) out.append(std::to_string(days)).append(days == 1 ? " day, " : " days, ");
  return out.append(clock);
}

std::string format_rate(double items_per_second, const std::string& unit) {
  if (std::isnan(items_per_second)) return "? " + unit + "/s";
  const double magnitude = std::fabs(items_per_second);
  char rate[64];
  std::snprintf(rate, sizeof rate, magnitude < 10 ? "%.2f" : magnitude < 100 ? "%.1f" : "%.0f", items_per_second);
  return std::string(rate) + " " + unit + "/s";
}

double ema_seconds_per_iter(double average, double sample, int64_t iterations, double smoothing) {
  if (std::isnan(average)) return sample;
  if (iterations <= 0) return average;
  const double weight = 1.0 - std::pow(1.0 - smoothing, static_cast<double>(iterations));
  return average + weight * (sample - average);
}

double eta_seconds(int64_t iters_done, int64_t total_iters, double seconds_per_iter) {
  if (total_iters <= 0 || std::isnan(seconds_per_iter)) return std::numeric_limits<double>::quiet_NaN();
  if (iters_done >= total_iters) return 0.0;
  return static_cast<double>(total_iters - iters_done) * seconds_per_iter;
}

ProgressField::ProgressField(std::string name, double value, int precision) : name(std::move(name)) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
  this->value = buffer;
}

std::string format_progress(const ProgressLine& line) {
  std::string out;
  const auto field = [&out](const std::string& text) {
    if (!out.empty()) out += "  ";
    out += text;
  };
  if (line.epoch > 0) field("epoch " + std::to_string(line.epoch) + "/" + std::to_string(line.num_epochs));
  field("iter " + std::to_string(line.iter) + (line.iters > 0 ? "/" + std::to_string(line.iters) : ""));
  field("eta " + format_duration(line.eta_seconds));
  field(format_rate(line.items_per_second, line.unit));
  for (const ProgressField& extra : line.extra) field(extra.name + " " + extra.value);
  return out;
}

ProgressMeter::ProgressMeter(ProgressOptions options) : options_(std::move(options)) {
  check_value(options_.total_iters >= 0, "progress.total_iters", std::to_string(options_.total_iters), ">= 0");
  check_value(options_.iters_per_epoch >= 0, "progress.iters_per_epoch", std::to_string(options_.iters_per_epoch),
              ">= 0");
  check_value(options_.items_per_iter >= 0, "progress.items_per_iter", std::to_string(options_.items_per_iter),
              ">= 0");
  check_value(options_.smoothing > 0 && options_.smoothing <= 1, "progress.smoothing",
              std::to_string(options_.smoothing), "a value in (0, 1]");
}

void ProgressMeter::reset(int64_t iters_done, double elapsed_seconds) {
  done_ = iters_done;
  last_time_ = elapsed_seconds;
}

void ProgressMeter::update(int64_t iters_done, double elapsed_seconds) {
  const int64_t new_iters = iters_done - done_;
  const double seconds = elapsed_seconds - last_time_;
  if (new_iters == 0) return;  // keep the old baseline: the next sample then covers this time too
  if (new_iters < 0 || seconds < 0) {
    reset(iters_done, elapsed_seconds);
    return;
  }
  seconds_per_iter_ = ema_seconds_per_iter(seconds_per_iter_, seconds / static_cast<double>(new_iters), new_iters,
                                           options_.smoothing);
  done_ = iters_done;
  last_time_ = elapsed_seconds;
}

double ProgressMeter::eta_seconds() const {
  return report::eta_seconds(done_, options_.total_iters, seconds_per_iter_);
}

double ProgressMeter::items_per_second() const {
  if (std::isnan(seconds_per_iter_) || seconds_per_iter_ <= 0) return std::numeric_limits<double>::quiet_NaN();
  return options_.items_per_iter / seconds_per_iter_;
}

ProgressLine ProgressMeter::progress_line(std::vector<ProgressField> extra) const {
  ProgressLine line;
  const int64_t per_epoch = options_.iters_per_epoch;
  const int64_t total = options_.total_iters;
  if (per_epoch > 0 && total > 0) {
    line.num_epochs = (total + per_epoch - 1) / per_epoch;
    // With `done` iterations complete the current epoch is done / per_epoch + 1, so an epoch boundary shows the next
    // epoch at "iter 0/…"; capped at the last epoch, so the end shows "iter N/N" rather than an epoch past the end.
    line.epoch = std::min(std::max<int64_t>(done_, 0) / per_epoch + 1, line.num_epochs);
    line.iter = done_ - (line.epoch - 1) * per_epoch;
    line.iters = line.epoch == line.num_epochs ? total - (line.num_epochs - 1) * per_epoch : per_epoch;
  } else {
    line.iter = done_;
    line.iters = total;
  }
  line.eta_seconds = eta_seconds();
  line.items_per_second = items_per_second();
  line.unit = options_.unit;
  line.extra = std::move(extra);
  return line;
}

std::string ProgressMeter::line(std::vector<ProgressField> extra) const {
  return format_progress(progress_line(std::move(extra)));
}

}  // namespace sgmim::report
