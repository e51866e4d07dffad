// The system libzstd (Debian's libzstd-dev), for zstd-compressed image layers and archives.
#include <zstd.h>
