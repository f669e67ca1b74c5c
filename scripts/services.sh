#!/usr/bin/env bash
# Install and start what the integration tests use, where missing: unixODBC, the MariaDB ODBC driver,
# Chromium (headless, for the report check) and, if no server answers on 127.0.0.1:3306, a MariaDB server. Then make the test login:
#   user wb_test, password $WORKBENCH_TEST_DB_PASSWORD, rights on the wb_test_% databases only.
# Installing needs root (apt-get); without it the script says what is missing and the tests that need it
# skip (or fail, under WORKBENCH_REQUIRE_SERVICES=1).
set -uo pipefail
PASSWORD="${WORKBENCH_TEST_DB_PASSWORD:-wb-test-only}"
say() { echo "services: $*" >&2; }

server_up() { mariadb-admin ping -h127.0.0.1 -P3306 --connect-timeout=2 >/dev/null 2>&1 || \
              mariadb-admin ping --connect-timeout=2 >/dev/null 2>&1; }
missing=()
command -v odbcinst >/dev/null 2>&1 || missing+=(unixodbc)
dpkg -s odbc-mariadb >/dev/null 2>&1 || missing+=(odbc-mariadb)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
if ! server_up && [ ! -x /usr/sbin/mariadbd ]; then missing+=(mariadb-server); fi
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the browser test opens every report headless

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing ${missing[*]} (not root: cannot apt-get install); tests that need them will skip"
    exit 0
  fi
  say "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null || { say "apt-get failed"; exit 0; }
fi

if ! server_up; then
  say "starting MariaDB ..."
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1
  for _ in $(seq 1 30); do server_up && break; sleep 1; done
  server_up || { say "MariaDB did not start"; exit 0; }
fi

# the test login (as the server's root over its socket, or root on 127.0.0.1 without a password)
sql="CREATE USER IF NOT EXISTS 'wb_test'@'localhost' IDENTIFIED BY '$PASSWORD';
     CREATE USER IF NOT EXISTS 'wb_test'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
     ALTER USER 'wb_test'@'localhost' IDENTIFIED BY '$PASSWORD';
     ALTER USER 'wb_test'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
     GRANT ALL ON \`wb\\_test\\_%\`.* TO 'wb_test'@'localhost';
     GRANT ALL ON \`wb\\_test\\_%\`.* TO 'wb_test'@'127.0.0.1';"
mariadb -uroot -e "$sql" 2>/dev/null || mariadb -uroot -h127.0.0.1 -e "$sql" 2>/dev/null || \
  say "could not create the wb_test login (no root access to MariaDB)"
odbcinst -q -d 2>/dev/null | grep -q "MariaDB" || say "the MariaDB ODBC driver is not registered"
exit 0
