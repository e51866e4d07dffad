// The system zlib (Debian's zlib1g-dev), for SPDY's header compression in `kubectl port-forward`.
#include <zlib.h>
