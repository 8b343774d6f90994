# Sourced by the project's scripts: puts a JDK 25 first on PATH when the default java is older.
jdk_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [ -z "${JAVA_HOME:-}" ] || [ "$(jdk_major "$JAVA_HOME/bin/java" 2>/dev/null || echo 0)" -lt 25 ] 2>/dev/null; then
    unset JAVA_HOME
    if command -v java >/dev/null && [ "$(jdk_major java)" -ge 25 ] 2>/dev/null; then
        JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    else
        for d in /usr/lib/jvm/*; do
            if [ -x "$d/bin/java" ] && [ "$(jdk_major "$d/bin/java")" -ge 25 ] 2>/dev/null; then
                JAVA_HOME=$d
                break
            fi
        done
    fi
    if [ -z "${JAVA_HOME:-}" ]; then
        echo "evonas needs JDK 25 or newer; none found on PATH or under /usr/lib/jvm. Set JAVA_HOME." >&2
        exit 1
    fi
    export JAVA_HOME
fi
export PATH="$JAVA_HOME/bin:$PATH"
# Maven 3.8's bundled Guava calls sun.misc.Unsafe, which JDK 25 warns about on every build.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
