// tributary-import: streams an NDJSON, CSV or SDF file to the publisher (tools/import/importer.cpp).
#include "tools/import/arguments.hpp"
#include "tools/import/importer.hpp"
#include "tools/import/stop_signal.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

using namespace tributary::tools::import;

namespace {
std::string Env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? "" : value;
}
}  // namespace

int main(int argc, char** argv) {
    StopSignal stop;
    SignalWatcher signals(stop);  // before any other thread
    const std::vector<std::string> args(argv + 1, argv + argc);
    const auto parsed = ParseCommandLine(args, {Env("PUBLISHER_URL"), Env("TRIBUTARY_INGEST_KEY")});
    if (const auto* error = std::get_if<UsageError>(&parsed)) {
        std::cerr << "tributary-import: " << error->message << "\n\n" << UsageText();
        return 2;
    }
    const Options& options = std::get<Options>(parsed);
    if (options.help) {
        std::cout << UsageText();
        return 0;
    }
    const ImportResult result = RunImport(
        options, stop, [&] { return MakeHttpTransport(options.url, options.key, options.kind); },
        std::cerr, isatty(STDERR_FILENO) == 1);
    std::cout << FormatSummary(options, result) << std::flush;
    switch (result.outcome) {
        case ImportResult::Outcome::kComplete: return 0;
        case ImportResult::Outcome::kFailed: return 1;
        case ImportResult::Outcome::kInterrupted: return signals.Received() == SIGTERM ? 143 : 130;
    }
    return 1;
}
