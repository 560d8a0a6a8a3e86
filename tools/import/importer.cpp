#include "tools/import/importer.hpp"

#include "tools/import/csv_reader.hpp"
#include "tools/import/event_mapping.hpp"
#include "tools/import/ids.hpp"
#include "tools/import/line_reader.hpp"
#include "tools/import/progress.hpp"
#include "tools/import/sdf_reader.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace tributary::tools::import {
namespace {

// A record longer than this is refused without being kept in memory (the publisher's body
// limit is 8 MiB by default, so a longer event could never be accepted).
constexpr size_t kMaxRecordBytes = size_t{8} * 1024 * 1024;
// The rejects file keeps this much of a refused record's text.
constexpr size_t kMaxRejectedText = 64 * 1024;
constexpr auto kCheckpointInterval = std::chrono::milliseconds(250);
constexpr auto kTick = std::chrono::milliseconds(100);

// Appends refused records as JSON lines. Thread-safe.
class RejectsFile {
public:
    RejectsFile(const std::string& path, bool truncate, bool sdf) : sdf_(sdf) {
        file_ = std::fopen(path.c_str(), truncate ? "w" : "a");
        if (file_ == nullptr) {
            throw std::runtime_error("cannot open the rejects file " + path + ": " + std::strerror(errno));
        }
    }
    ~RejectsFile() {
        if (file_ != nullptr) std::fclose(file_);
    }
    RejectsFile(const RejectsFile&) = delete;
    RejectsFile& operator=(const RejectsFile&) = delete;

    void Write(const std::vector<Rejection>& rejections) {
        if (rejections.empty()) return;
        std::string text;
        for (const Rejection& r : rejections) {
            nlohmann::ordered_json line = {{"line", r.line}};
            if (sdf_) line["record"] = r.number;
            line["field"] = r.field;
            line["reason"] = r.reason;
            line["input"] = r.raw.size() > kMaxRejectedText ? r.raw.substr(0, kMaxRejectedText) : r.raw;
            text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            text += '\n';
        }
        std::lock_guard lock(mutex_);
        if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
            throw std::runtime_error(std::string("cannot write the rejects file: ") + std::strerror(errno));
        }
    }

private:
    std::FILE* file_ = nullptr;
    bool sdf_;
    std::mutex mutex_;
};

struct Batch {
    uint64_t sequence = 0;
    std::vector<OutgoingEvent> events;
    std::vector<Rejection> local_rejections;  // refused before sending
    size_t bytes = 0;
};

// Batches read but not yet taken by a sender; Push blocks while `capacity` are waiting, which
// is what keeps memory flat however large the file is. Thread-safe.
class BatchQueue {
public:
    explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

    bool Push(Batch batch) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return cancelled_ || queue_.size() < capacity_; });
        if (cancelled_) return false;
        queue_.push_back(std::move(batch));
        changed_.notify_all();
        return true;
    }
    bool Pop(Batch& batch) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return cancelled_ || closed_ || !queue_.empty(); });
        if (cancelled_ || queue_.empty()) return false;
        batch = std::move(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
        return true;
    }
    void Close() {
        std::lock_guard lock(mutex_);
        closed_ = true;
        changed_.notify_all();
    }
    // Stops everything: pending batches are dropped (they are not acknowledged, so the
    // checkpoint does not pass them).
    void Cancel() {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
        changed_.notify_all();
    }

private:
    size_t capacity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> queue_;
    bool closed_ = false;
    bool cancelled_ = false;
};

// One record of any format, mapped.
struct Item {
    int64_t number = 0;
    int64_t line = 0;
    std::string raw;
    MappedEvent mapped;
    Position after;
};

class RecordStream {
public:
    virtual ~RecordStream() = default;
    virtual bool Next(Item& item) = 0;
};

class NdjsonStream final : public RecordStream {
public:
    NdjsonStream(std::istream& in, const Position& start, const MappingContext& context)
        : reader_(in, start.offset, start.line, kMaxRecordBytes), records_(start.record), context_(context) {}
    bool Next(Item& item) override {
        if (!reader_.Next(line_)) return false;
        item.number = line_.number;
        item.line = line_.number;
        item.raw = line_.text;
        if (line_.too_long) {
            item.mapped = {"", "(line)", "line longer than " + std::to_string(kMaxRecordBytes) + " bytes"};
        } else {
            item.mapped = MapJsonLine(context_, line_.text, line_.number);
        }
        item.after = {line_.end_offset, line_.number, ++records_};
        return true;
    }

private:
    LineReader reader_;
    LineReader::Line line_;
    int64_t records_;
    const MappingContext& context_;
};

class CsvStream final : public RecordStream {
public:
    CsvStream(std::istream& in, const Position& start, std::vector<std::string> header,
              const MappingContext& context)
        : reader_(in, start.offset, start.line, kMaxRecordBytes),
          header_(std::move(header)),
          records_(start.record),
          context_(context) {}
    // Reads the header row when the import starts at the top of the file.
    std::string ReadHeader() {
        if (!reader_.Next(record_)) return "the file is empty: a CSV import needs a header row";
        if (!record_.error.empty()) return "the header row is malformed: " + record_.error;
        std::string error;
        auto header = CsvHeader(record_.fields, &error);
        if (!header) return error;
        header_ = std::move(*header);
        return "";
    }
    const std::vector<std::string>& Header() const { return header_; }
    bool Next(Item& item) override {
        if (!reader_.Next(record_)) return false;
        item.number = record_.line;
        item.line = record_.line;
        item.raw = record_.text;
        if (!record_.error.empty()) {
            item.mapped = {"", "(row)", record_.error};
        } else {
            item.mapped = MapCsvRow(context_, header_, record_.fields, record_.text, record_.line);
        }
        item.after = {record_.end_offset, reader_.Line(), ++records_};
        return true;
    }

private:
    CsvReader reader_;
    CsvReader::Record record_;
    std::vector<std::string> header_;
    int64_t records_;
    const MappingContext& context_;
};

class SdfStream final : public RecordStream {
public:
    SdfStream(std::istream& in, const Position& start, const MappingContext& context, SdfOptions options)
        : splitter_(in, start.offset, start.line, start.record, kMaxRecordBytes),
          context_(context),
          options_(std::move(options)) {}
    bool Next(Item& item) override {
        if (!splitter_.Next(record_)) return false;
        item.number = record_.number;
        item.line = record_.line;
        item.raw = record_.text;
        if (record_.too_long) {
            item.mapped = {"", "(record)", "record longer than " + std::to_string(kMaxRecordBytes) + " bytes"};
        } else {
            item.mapped = MapSdfRecord(context_, options_, record_.text, record_.number, record_.line);
        }
        item.after = {record_.end_offset, record_.end_line, record_.number};
        return true;
    }

private:
    SdfSplitter splitter_;
    SdfSplitter::Record record_;
    const MappingContext& context_;
    SdfOptions options_;
};

// What the reader, the senders and the main loop share; guarded by `mutex`.
struct Shared {
    explicit Shared(Position start) : tracker(start) {}
    std::mutex mutex;
    AckTracker tracker;
    int64_t sent = 0;
    int64_t accepted = 0;
    int64_t rejected = 0;
    int64_t retries = 0;
    std::string fatal;
    bool reader_done = false;
    bool reader_at_end = false;
    int workers_running = 0;
};

std::string ReadCsvHeaderAtTop(const std::string& path, std::vector<std::string>& header) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "cannot open " + path;
    CsvReader reader(in, 0, 0, kMaxRecordBytes);
    CsvReader::Record record;
    if (!reader.Next(record)) return "the file is empty: a CSV import needs a header row";
    if (!record.error.empty()) return "the header row is malformed: " + record.error;
    std::string error;
    auto parsed = CsvHeader(record.fields, &error);
    if (!parsed) return error;
    header = std::move(*parsed);
    return "";
}

ImportResult Failed(std::string message) {
    ImportResult result;
    result.outcome = ImportResult::Outcome::kFailed;
    result.message = std::move(message);
    return result;
}

}  // namespace

ImportResult RunImport(const Options& options, StopSignal& stop, const TransportFactory& transports,
                       std::ostream& progress_out, bool terminal) {
    const auto started = std::chrono::steady_clock::now();
    FileIdentity identity;
    try {
        identity = IdentifyFile(options.file);
    } catch (const std::exception& e) {
        return Failed(e.what());
    }
    const std::string kind(KindName(options.kind));
    const std::string format(FormatName(options.format));

    Checkpoint checkpoint;
    checkpoint.file_head_sha256 = identity.head_sha256;
    checkpoint.file_size = identity.size;
    checkpoint.kind = kind;
    checkpoint.format = format;
    ImportResult result;
    if (options.restart) {
        if (std::remove(options.checkpoint_path.c_str()) != 0 && errno != ENOENT) {
            return Failed("cannot remove the checkpoint " + options.checkpoint_path + ": " + std::strerror(errno));
        }
    } else {
        try {
            if (auto previous = ReadCheckpoint(options.checkpoint_path)) {
                const std::string mismatch =
                    CheckpointMismatch(*previous, identity.head_sha256, identity.size, kind, format);
                if (!mismatch.empty()) {
                    return Failed("the checkpoint " + options.checkpoint_path + " " + mismatch +
                                  ": pass --restart to import this file from the top, or another --checkpoint");
                }
                checkpoint.position = previous->position;
                checkpoint.accepted = previous->accepted;
                checkpoint.rejected = previous->rejected;
                result.resumed = previous->position.offset > 0;
                result.resumed_at = previous->position;
                if (previous->complete && previous->file_size == identity.size) {
                    result.message = "already imported (the checkpoint says complete); --restart imports it again";
                    result.total_accepted = previous->accepted;
                    result.total_rejected = previous->rejected;
                    result.done = previous->position;
                    return result;
                }
            }
        } catch (const std::exception& e) {
            return Failed(std::string(e.what()) + ": pass --restart to import from the top");
        }
    }

    std::unique_ptr<RejectsFile> rejects;
    try {
        rejects = std::make_unique<RejectsFile>(options.rejects_path, !result.resumed,
                                                options.format == Format::kSdf);
    } catch (const std::exception& e) {
        return Failed(e.what());
    }

    MappingContext context{options.kind, identity.head_sha256, options.researcher};
    std::ifstream in(options.file, std::ios::binary);
    if (!in) return Failed("cannot open " + options.file + ": " + std::strerror(errno));
    in.seekg(checkpoint.position.offset);
    if (!in) return Failed("cannot seek " + options.file + " to the checkpoint's offset");

    std::unique_ptr<RecordStream> records;
    switch (options.format) {
        case Format::kNdjson:
            records = std::make_unique<NdjsonStream>(in, checkpoint.position, context);
            break;
        case Format::kCsv: {
            std::vector<std::string> header;
            if (checkpoint.position.offset > 0) {
                if (std::string error = ReadCsvHeaderAtTop(options.file, header); !error.empty()) {
                    return Failed(options.file + ": " + error);
                }
                records = std::make_unique<CsvStream>(in, checkpoint.position, std::move(header), context);
            } else {
                auto csv = std::make_unique<CsvStream>(in, checkpoint.position, std::move(header), context);
                if (std::string error = csv->ReadHeader(); !error.empty()) return Failed(options.file + ": " + error);
                records = std::move(csv);
            }
            break;
        }
        case Format::kSdf:
            records = std::make_unique<SdfStream>(in, checkpoint.position, context,
                                                  SdfOptions{options.molecule_id_field});
            break;
    }
    // Until the first batch is acknowledged, the checkpoint stays where it was (for a CSV
    // import from the top, before the header: the header is read again on resume).
    Shared shared(checkpoint.position);
    BatchQueue queue(static_cast<size_t>(options.concurrency));
    const std::string path = RoutePath(options.url, options.kind);

    std::vector<std::thread> workers;
    shared.workers_running = options.concurrency;
    for (int w = 0; w < options.concurrency; ++w) {
        workers.emplace_back([&] {
            try {
                std::unique_ptr<Transport> transport = transports();
                SenderPolicy policy;
                policy.retries = options.retries;
                BatchSender sender(*transport, options.kind, path, policy,
                                   [&](std::chrono::milliseconds delay) { return stop.SleepFor(delay); });
                Batch batch;
                while (!stop.Requested() && queue.Pop(batch)) {
                    SendResult sent = sender.Send(batch.events);
                    std::vector<Rejection> refused = std::move(batch.local_rejections);
                    refused.insert(refused.end(), std::make_move_iterator(sent.rejections.begin()),
                                   std::make_move_iterator(sent.rejections.end()));
                    std::sort(refused.begin(), refused.end(),
                              [](const Rejection& a, const Rejection& b) { return a.number < b.number; });
                    if (sent.status == SendResult::Status::kDone) rejects->Write(refused);
                    std::lock_guard lock(shared.mutex);
                    shared.retries += sent.retries;
                    shared.accepted += sent.accepted;
                    if (sent.status != SendResult::Status::kDone) {
                        if (sent.status == SendResult::Status::kFatal && shared.fatal.empty()) {
                            shared.fatal = "the publisher " + options.url_text + ": " + sent.message;
                            stop.Request();
                        }
                        break;
                    }
                    shared.sent += static_cast<int64_t>(batch.events.size());
                    shared.rejected += static_cast<int64_t>(refused.size());
                    shared.tracker.Complete(batch.sequence, sent.accepted, static_cast<int64_t>(refused.size()));
                }
            } catch (const std::exception& e) {
                std::lock_guard lock(shared.mutex);
                if (shared.fatal.empty()) shared.fatal = e.what();
                stop.Request();
            }
            std::lock_guard lock(shared.mutex);
            --shared.workers_running;
        });
    }

    std::thread reader([&] {
        bool at_end = false;
        try {
            uint64_t sequence = 0;
            Batch batch;
            Item item;
            Position position = checkpoint.position;
            auto flush = [&](bool last) {
                if (!last && batch.events.empty() && batch.local_rejections.empty()) return true;
                batch.sequence = sequence++;
                {
                    std::lock_guard lock(shared.mutex);
                    shared.tracker.Issue(batch.sequence, position);
                }
                if (!queue.Push(std::move(batch))) return false;
                batch = Batch();
                return true;
            };
            bool ok = true;
            while (ok && !stop.Requested()) {
                if (!records->Next(item)) {
                    at_end = true;
                    break;
                }
                position = item.after;
                if (item.mapped.ok()) {
                    batch.bytes += item.mapped.json.size() + 1;
                    batch.events.push_back({item.number, item.line, std::move(item.mapped.json), std::move(item.raw)});
                } else {
                    batch.local_rejections.push_back({item.number, item.line, std::move(item.mapped.field),
                                                      std::move(item.mapped.error), std::move(item.raw)});
                }
                if (batch.events.size() >= options.batch || batch.bytes >= options.batch_bytes ||
                    batch.local_rejections.size() >= options.batch) {
                    ok = flush(false);
                }
            }
            if (at_end && ok && !stop.Requested()) {
                // The last batch, even an empty one: its end is the end of the file.
                at_end = flush(true);
            } else {
                at_end = false;
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(shared.mutex);
            if (shared.fatal.empty()) shared.fatal = std::string("reading ") + options.file + ": " + e.what();
            stop.Request();
        }
        queue.Close();
        std::lock_guard lock(shared.mutex);
        shared.reader_done = true;
        shared.reader_at_end = at_end;
    });

    ProgressReporter progress(options.progress, progress_out, terminal);
    Position written = checkpoint.position;
    auto last_write = std::chrono::steady_clock::now();
    std::string checkpoint_error;
    auto snapshot = [&] {
        std::lock_guard lock(shared.mutex);
        ProgressSnapshot s;
        s.done_bytes = shared.tracker.Done().offset;
        s.start_bytes = checkpoint.position.offset;
        s.total_bytes = identity.size;
        s.events = shared.accepted + shared.rejected;
        s.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return s;
    };
    auto save = [&](bool complete) {
        Checkpoint next = checkpoint;
        {
            std::lock_guard lock(shared.mutex);
            next.position = shared.tracker.Done();
            next.accepted = checkpoint.accepted + shared.tracker.DoneAccepted();
            next.rejected = checkpoint.rejected + shared.tracker.DoneRejected();
        }
        next.complete = complete;
        if (!complete && next.position.offset == written.offset) return;
        try {
            WriteCheckpoint(options.checkpoint_path, next);
            written = next.position;
        } catch (const std::exception& e) {
            checkpoint_error = e.what();
        }
    };
    while (true) {
        std::this_thread::sleep_for(kTick);
        if (stop.Requested()) queue.Cancel();
        {
            std::lock_guard lock(shared.mutex);
            if (shared.reader_done && shared.workers_running == 0) break;
        }
        progress.Update(snapshot());
        if (std::chrono::steady_clock::now() - last_write >= kCheckpointInterval) {
            save(false);
            last_write = std::chrono::steady_clock::now();
        }
    }
    reader.join();
    for (auto& worker : workers) worker.join();

    const ProgressSnapshot last = snapshot();
    progress.Finish(last);
    bool complete = false;
    {
        std::lock_guard lock(shared.mutex);
        complete = shared.reader_at_end && shared.fatal.empty() && !stop.Requested() &&
                   shared.tracker.Outstanding() == 0;
        result.sent = shared.sent;
        result.accepted = shared.accepted;
        result.rejected = shared.rejected;
        result.retries = shared.retries;
        result.done = shared.tracker.Done();
        result.total_accepted = checkpoint.accepted + shared.tracker.DoneAccepted();
        result.total_rejected = checkpoint.rejected + shared.tracker.DoneRejected();
        if (!shared.fatal.empty()) {
            result.outcome = ImportResult::Outcome::kFailed;
            result.message = shared.fatal;
        } else if (!complete) {
            result.outcome = ImportResult::Outcome::kInterrupted;
        }
    }
    save(complete);
    if (!checkpoint_error.empty() && result.outcome != ImportResult::Outcome::kFailed) {
        result.outcome = ImportResult::Outcome::kFailed;
        result.message = "the checkpoint could not be written: " + checkpoint_error;
    }
    result.elapsed_seconds = last.elapsed_seconds;
    return result;
}

std::string FormatSummary(const Options& options, const ImportResult& result) {
    std::ostringstream out;
    const char* state = result.outcome == ImportResult::Outcome::kComplete      ? "done"
                        : result.outcome == ImportResult::Outcome::kInterrupted ? "interrupted"
                                                                                : "failed";
    const double rate = result.elapsed_seconds > 0
                            ? static_cast<double>(result.accepted + result.rejected) / result.elapsed_seconds
                            : 0;
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1f", result.elapsed_seconds);
    out << "tributary-import: " << state << ": " << options.file << ": sent " << result.sent
        << ", accepted " << result.accepted << ", rejected " << result.rejected;
    if (result.rejected > 0 || result.total_rejected > 0) out << " (see " << options.rejects_path << ")";
    out << ", " << elapsed << " s, " << static_cast<int64_t>(rate) << " events/s";
    if (result.resumed) out << "; resumed at line " << result.resumed_at.line;
    if (result.outcome == ImportResult::Outcome::kInterrupted) {
        out << "; the checkpoint " << options.checkpoint_path << " holds line " << result.done.line
            << ": run the same command again to continue";
    }
    out << "\n";
    if (!result.message.empty()) out << "tributary-import: " << result.message << "\n";
    out << "summary: state=" << state << " sent=" << result.sent << " accepted=" << result.accepted
        << " rejected=" << result.rejected << " total_accepted=" << result.total_accepted
        << " total_rejected=" << result.total_rejected << " retries=" << result.retries
        << " elapsed_s=" << elapsed << " events_per_s=" << static_cast<int64_t>(rate)
        << " position=" << result.done.offset << " line=" << result.done.line << "\n";
    return out.str();
}

}  // namespace tributary::tools::import
