#pragma once
#include <string>

namespace mantissa {

std::string version_string();  // "0.1.0"
// Versions of the libraries the engine runs on (oneDNN, SQLite, ...), for run records.
std::string library_versions();

}  // namespace mantissa
