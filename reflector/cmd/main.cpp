// rr-agent: drives BIRD 2 inside a reflector pod (issue D fills in the agent).
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      std::cout << "rr-agent 0.1.0\n";
      return 0;
    }
  }
  std::cout << "usage: rr-agent [--version]\n";
  return 0;
}
