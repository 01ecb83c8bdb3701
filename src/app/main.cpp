#include "app/cli.h"

int main(int argc, char** argv) { return ordersd::app::run_cli(argc, argv); }
