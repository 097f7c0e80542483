// The declarations live in include/CLibFuzzer.h; a C target needs one source file.
#include "CLibFuzzer.h"
