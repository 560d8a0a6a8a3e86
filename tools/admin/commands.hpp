#pragma once

#include "storage/key_repository.hpp"
#include "tools/admin/arguments.hpp"

#include <ostream>
#include <string>
#include <string_view>

namespace tributary::tools::admin {

// Runs `command` (not kHelp) against `keys`, recording `actor` in the audit trail. Writes the
// result to `out` (text for people, or one JSON object with --json) and, on failure, one line
// to `err`. Returns the exit status: 0 done, 1 refused (no such tenant or key, invalid name,
// ...) or failed (database unreachable). Never throws.
int RunCommand(const Command& command, storage::KeyRepository& keys,
               const std::string& actor, std::ostream& out, std::ostream& err);

// "cli:<user>", the user from $USER, else the password database, else the numeric uid.
std::string CliActor();

// `text` on one line: line breaks become spaces, trailing whitespace is dropped (libpq's
// messages end with a newline and may span lines).
std::string OneLine(std::string_view text);

}  // namespace tributary::tools::admin
