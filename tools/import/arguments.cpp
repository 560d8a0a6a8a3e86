#include "tools/import/arguments.hpp"

#include <charconv>
#include <map>
#include <set>

namespace tributary::tools::import {
namespace {

constexpr std::string_view kUsage =
    R"(usage: tributary-import FILE --kind analytics|chemical|segment [options]

Streams FILE to the publisher in batches, several in flight over keep-alive connections.
Re-running the same command after Ctrl-C or a crash continues from the checkpoint, and
events get deterministic ids, so nothing is stored twice.

Options:
  --kind K              analytics (POST /api/v1/events/analytics), chemical
                        (POST /api/v1/events/chemical) or segment (POST /v1/batch); required
  --format F            ndjson, csv or sdf (chemical only); default: from the extension
                        (.ndjson .jsonl .json / .csv / .sdf .sd)
  --url URL             the publisher (default: $PUBLISHER_URL, else http://127.0.0.1:8000)
  --key KEY             an API key with the ingest scope (default: $TRIBUTARY_INGEST_KEY)
  --batch N             events per request (default 1000; segment 500, at most 2500)
  --concurrency N       requests in flight, 1-64 (default 4)
  --retries N           attempts per request on connection errors and 5xx, 1-1000 (default 10);
                        429 and 503 answers wait for their Retry-After
  --checkpoint PATH     where the position is kept (default FILE.checkpoint)
  --rejects PATH        where refused records go, one JSON object a line with the line number
                        and the reason (default FILE.rejects)
  --restart             ignore the checkpoint and import from the top (ids stay the same)
  --researcher NAME     chemical: the researcher of records that name none
  --molecule-id-field P SDF: the property holding the molecule id (default: the record's
                        title line, else "record-N")
  --progress MODE       auto (a bar on a terminal, plain lines otherwise), bar, plain or none
  --help                this text

Exit status: 0 done (some records may be rejected: see the rejects file), 1 failed (the
checkpoint keeps what was acknowledged), 2 usage error, 130 interrupted (SIGINT; re-run to
continue).
)";

const std::set<std::string, std::less<>> kValueOptions = {
    "kind",     "format",     "url",        "key",       "batch",
    "concurrency", "retries", "checkpoint", "rejects",   "molecule-id-field",
    "researcher", "progress"};
const std::set<std::string, std::less<>> kFlagOptions = {"restart", "help"};

UsageError Usage(std::string message) { return {std::move(message)}; }

std::optional<int64_t> ParseInteger(const std::string& text, int64_t min, int64_t max) {
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
        value > max) {
        return std::nullopt;
    }
    return value;
}

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

}  // namespace

std::string_view UsageText() { return kUsage; }

std::string_view KindName(Kind kind) {
    switch (kind) {
        case Kind::kAnalytics: return "analytics";
        case Kind::kChemical: return "chemical";
        case Kind::kSegment: return "segment";
    }
    return "analytics";
}

std::string_view FormatName(Format format) {
    switch (format) {
        case Format::kNdjson: return "ndjson";
        case Format::kCsv: return "csv";
        case Format::kSdf: return "sdf";
    }
    return "ndjson";
}

size_t DefaultBatch(Kind kind) { return kind == Kind::kSegment ? 500 : 1000; }
size_t MaxBatch(Kind kind) { return kind == Kind::kSegment ? 2500 : 100000; }
size_t DefaultBatchBytes(Kind kind) {
    return kind == Kind::kSegment ? size_t{450} * 1000 : size_t{4} * 1024 * 1024;
}

std::optional<Format> FormatFromPath(std::string_view path) {
    const size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    const std::string extension = Lower(name.substr(dot + 1));
    if (extension == "ndjson" || extension == "jsonl" || extension == "json") return Format::kNdjson;
    if (extension == "csv") return Format::kCsv;
    if (extension == "sdf" || extension == "sd") return Format::kSdf;
    return std::nullopt;
}

std::optional<PublisherUrl> ParsePublisherUrl(std::string_view url, std::string* error) {
    const size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        *error = "must start with http:// or https://";
        return std::nullopt;
    }
    const std::string scheme = Lower(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") {
        *error = "scheme '" + scheme + "' is not http or https";
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme_end + 3);
    const size_t path_start = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_start);
    std::string path = path_start == std::string_view::npos ? "" : std::string(rest.substr(path_start));
    if (authority.empty()) {
        *error = "has no host";
        return std::nullopt;
    }
    if (authority.find('@') != std::string_view::npos) {
        *error = "must not carry credentials (use --key)";
        return std::nullopt;
    }
    if (path.find_first_of("?#") != std::string::npos) {
        *error = "must not have a query or fragment";
        return std::nullopt;
    }
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
        const std::string port(authority.substr(colon + 1));
        if (!ParseInteger(port, 1, 65535)) {
            *error = "port '" + port + "' is not a number from 1 to 65535";
            return std::nullopt;
        }
    }
    while (!path.empty() && path.back() == '/') path.pop_back();
    return PublisherUrl{scheme + "://" + std::string(authority), path};
}

std::variant<Options, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                   const Defaults& defaults) {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> values;
    Options options;
    for (const std::string& arg : args) {
        if (arg == "-h" || arg == "--help") {
            options.help = true;
            return options;
        }
    }
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (!arg.starts_with("--") || arg == "--") {
            positional.push_back(arg);
            continue;
        }
        const size_t eq = arg.find('=');
        const std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
        if (kFlagOptions.contains(name)) {
            if (eq != std::string::npos) return Usage("--" + name + " takes no value");
            if (name == "restart") options.restart = true;
            continue;
        }
        if (!kValueOptions.contains(name)) return Usage("unknown option --" + name);
        std::string value;
        if (eq != std::string::npos) {
            value = arg.substr(eq + 1);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            return Usage("--" + name + " needs a value");
        }
        if (!values.emplace(name, std::move(value)).second) return Usage("--" + name + " is given twice");
    }
    if (positional.empty()) return Usage("no FILE given");
    if (positional.size() > 1) return Usage("unexpected argument '" + positional[1] + "' (one FILE per run)");
    options.file = positional[0];
    auto value = [&](std::string_view name) -> const std::string* {
        const auto it = values.find(name);
        return it == values.end() ? nullptr : &it->second;
    };

    const std::string* kind = value("kind");
    if (kind == nullptr) return Usage("--kind is required: analytics, chemical or segment");
    if (*kind == "analytics") {
        options.kind = Kind::kAnalytics;
    } else if (*kind == "chemical") {
        options.kind = Kind::kChemical;
    } else if (*kind == "segment") {
        options.kind = Kind::kSegment;
    } else {
        return Usage("--kind '" + *kind + "' is not analytics, chemical or segment");
    }

    if (const std::string* format = value("format")) {
        if (*format == "ndjson") {
            options.format = Format::kNdjson;
        } else if (*format == "csv") {
            options.format = Format::kCsv;
        } else if (*format == "sdf") {
            options.format = Format::kSdf;
        } else {
            return Usage("--format '" + *format + "' is not ndjson, csv or sdf");
        }
    } else if (const auto inferred = FormatFromPath(options.file)) {
        options.format = *inferred;
    } else {
        return Usage("cannot tell the format of '" + options.file +
                     "' from its extension: pass --format ndjson, csv or sdf");
    }
    if (options.format == Format::kSdf && options.kind != Kind::kChemical) {
        return Usage("--format sdf needs --kind chemical (SDF records are molecules)");
    }

    const std::string* url = value("url");
    options.url_text = url != nullptr ? *url
                       : !defaults.publisher_url.empty() ? defaults.publisher_url
                                                         : "http://127.0.0.1:8000";
    std::string url_error;
    const auto parsed_url = ParsePublisherUrl(options.url_text, &url_error);
    if (!parsed_url) {
        return Usage(std::string(url != nullptr ? "--url" : "PUBLISHER_URL") + " '" +
                     options.url_text + "' " + url_error);
    }
    options.url = *parsed_url;

    const std::string* key = value("key");
    options.key = key != nullptr ? *key : defaults.ingest_key;
    if (key != nullptr && key->empty()) return Usage("--key is empty");

    options.batch = DefaultBatch(options.kind);
    if (const std::string* batch = value("batch")) {
        const auto n = ParseInteger(*batch, 1, static_cast<int64_t>(MaxBatch(options.kind)));
        if (!n) {
            return Usage("--batch '" + *batch + "' is not a whole number from 1 to " +
                         std::to_string(MaxBatch(options.kind)));
        }
        options.batch = static_cast<size_t>(*n);
    }
    options.batch_bytes = DefaultBatchBytes(options.kind);
    if (const std::string* concurrency = value("concurrency")) {
        const auto n = ParseInteger(*concurrency, 1, 64);
        if (!n) return Usage("--concurrency '" + *concurrency + "' is not a whole number from 1 to 64");
        options.concurrency = static_cast<int>(*n);
    }
    if (const std::string* retries = value("retries")) {
        const auto n = ParseInteger(*retries, 1, 1000);
        if (!n) return Usage("--retries '" + *retries + "' is not a whole number from 1 to 1000");
        options.retries = static_cast<int>(*n);
    }
    options.checkpoint_path = value("checkpoint") ? *value("checkpoint") : options.file + ".checkpoint";
    options.rejects_path = value("rejects") ? *value("rejects") : options.file + ".rejects";
    if (options.checkpoint_path.empty()) return Usage("--checkpoint is empty");
    if (options.rejects_path.empty()) return Usage("--rejects is empty");
    if (options.checkpoint_path == options.file || options.rejects_path == options.file ||
        options.checkpoint_path == options.rejects_path) {
        return Usage("FILE, --checkpoint and --rejects must be three different paths");
    }
    if (const std::string* field = value("molecule-id-field")) {
        if (options.format != Format::kSdf) return Usage("--molecule-id-field applies to SDF files only");
        if (field->empty()) return Usage("--molecule-id-field is empty");
        options.molecule_id_field = *field;
    }
    if (const std::string* researcher = value("researcher")) {
        if (options.kind != Kind::kChemical) return Usage("--researcher applies to --kind chemical only");
        if (researcher->empty() || researcher->size() > 128) {
            return Usage("--researcher must have 1 to 128 characters");
        }
        options.researcher = *researcher;
    }
    if (const std::string* progress = value("progress")) {
        if (*progress == "auto") {
            options.progress = ProgressMode::kAuto;
        } else if (*progress == "bar") {
            options.progress = ProgressMode::kBar;
        } else if (*progress == "plain") {
            options.progress = ProgressMode::kPlain;
        } else if (*progress == "none") {
            options.progress = ProgressMode::kNone;
        } else {
            return Usage("--progress '" + *progress + "' is not auto, bar, plain or none");
        }
    }
    return options;
}

}  // namespace tributary::tools::import
