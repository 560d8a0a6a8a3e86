#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tributary::tools::import {

// What the file holds, which decides the route: analytics → POST /api/v1/events/analytics,
// chemical → POST /api/v1/events/chemical, segment → POST /v1/batch.
enum class Kind { kAnalytics, kChemical, kSegment };
enum class Format { kNdjson, kCsv, kSdf };
enum class ProgressMode { kAuto, kBar, kPlain, kNone };

std::string_view KindName(Kind kind);
std::string_view FormatName(Format format);

// Where the publisher is, split from --url: "http://host:port/prefix" → scheme "http",
// host_port "host:port" (what httplib::Client takes with the scheme), base_path "/prefix".
struct PublisherUrl {
    std::string scheme_host_port;
    std::string base_path;  // "" or "/prefix" without a trailing slash
};
std::optional<PublisherUrl> ParsePublisherUrl(std::string_view url, std::string* error);

// One tributary-import invocation, checked for shape (not against the file or the server).
struct Options {
    std::string file;
    Kind kind = Kind::kAnalytics;
    Format format = Format::kNdjson;
    PublisherUrl url;
    std::string url_text;
    std::string key;
    size_t batch = 0;          // events per request
    size_t batch_bytes = 0;    // serialized events per request, before the envelope
    int concurrency = 4;       // requests in flight (one connection each)
    int retries = 10;          // attempts per batch for transport errors and 5xx answers
    std::string checkpoint_path;
    std::string rejects_path;
    std::string molecule_id_field;  // SDF: the property naming the molecule
    std::string researcher;         // chemical: default researcher
    bool restart = false;           // ignore the checkpoint and start from the top
    ProgressMode progress = ProgressMode::kAuto;
    bool help = false;
};

// Values the environment supplies when the command line does not.
struct Defaults {
    std::string publisher_url;  // PUBLISHER_URL, else http://127.0.0.1:8000
    std::string ingest_key;     // TRIBUTARY_INGEST_KEY
};

struct UsageError {
    std::string message;
};

// Parses the arguments after the program name: "--name value" or "--name=value", anywhere.
// "--help" anywhere asks for the usage text (help = true, nothing else checked). Pure.
std::variant<Options, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                   const Defaults& defaults);

// The format an extension implies: .ndjson/.jsonl/.json → ndjson, .csv → csv, .sdf/.sd → sdf.
std::optional<Format> FormatFromPath(std::string_view path);

// The largest batch each route accepts by default (the publisher's PUBLISHER_MAX_BATCH default
// and Segment's 2,500 events / 500 KB).
size_t DefaultBatch(Kind kind);
size_t MaxBatch(Kind kind);
size_t DefaultBatchBytes(Kind kind);

std::string_view UsageText();

}  // namespace tributary::tools::import
