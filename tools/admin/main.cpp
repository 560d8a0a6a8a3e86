// tributary-admin: tenants and API keys from the command line. Parses the arguments, applies the
// schema migrations, runs one command (tools/admin/commands.cpp).
#include "common/config.hpp"
#include "storage/key_repository.hpp"
#include "storage/migrations.hpp"
#include "tools/admin/arguments.hpp"
#include "tools/admin/commands.hpp"

#include <pqxx/connection>

#include <cstdlib>
#include <iostream>

using namespace tributary;

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const auto parsed = tools::admin::ParseCommandLine(args, common::NowUtc());
    if (const auto* error = std::get_if<tools::admin::UsageError>(&parsed)) {
        std::cerr << "tributary-admin: " << error->message << "\n\n" << tools::admin::UsageText();
        return 2;
    }
    const auto& command = std::get<tools::admin::Command>(parsed);
    if (command.kind == tools::admin::CommandKind::kHelp) {
        std::cout << tools::admin::UsageText();
        return 0;
    }
    const char* database_url = std::getenv("DATABASE_URL");
    if (database_url == nullptr || *database_url == '\0') {
        std::cerr << "tributary-admin: DATABASE_URL is not set (such as "
                     "postgresql://user@localhost:5432/tributary)\n";
        return 2;
    }
    // The tables may not exist yet when the services have never run against this database.
    // Concurrent starts are safe: the migrations take an advisory lock.
    try {
        pqxx::connection connection(storage::WithConnectTimeout(database_url, 5));
        storage::ApplyMigrations(connection);
    } catch (const std::exception& e) {
        std::cerr << "tributary-admin: cannot prepare the database at "
                  << common::RedactUrl(database_url) << ": " << tools::admin::OneLine(e.what())
                  << "\n";
        return 1;
    }
    storage::KeyRepository keys(database_url);
    return tools::admin::RunCommand(command, keys, tools::admin::CliActor(), std::cout, std::cerr);
}
