package dev.atlas.store;

import dev.atlas.error.InvalidNameException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rules dataset and array names follow, and their order. The reference's rules (not empty,
 * not starting with {@code _}, no {@code /}, not {@code .} or {@code ..}), plus, for array names,
 * which are directories: no backslash or NUL, not a registry file name. (Names equal ignoring case
 * are refused by {@link RegistryState}, which knows the names in use.)
 */
final class NameRules {
    /** Names sorted by their UTF-8 bytes, as the reference sorts them. */
    static final Comparator<String> BYTE_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private static final Set<String> REGISTRY_NAMES = RegistryFile.PRIORITY.stream().map(RegistryFile::fileName)
            .collect(Collectors.toUnmodifiableSet());

    private NameRules() {
    }

    /** The reference's rules; {@code what} is "dataset" or "array". */
    static void checkName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidNameException(what + " name must not be empty");
        }
        if (name.startsWith("_")) {
            throw new InvalidNameException(what + " name '" + name + "' starts with '_' (reserved)");
        }
        if (name.indexOf('/') >= 0) {
            throw new InvalidNameException(what + " name '" + name + "' contains '/'");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidNameException(what + " name '" + name + "' is not allowed");
        }
    }

    /** The reference's rules, and those of a directory name. */
    static void checkArrayName(String name) {
        checkName("array", name);
        if (name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
            throw new InvalidNameException("array name '" + name.replace("\0", "\\0") + "' contains a backslash or NUL");
        }
        if (REGISTRY_NAMES.contains(name.toLowerCase(Locale.ROOT))) {
            throw new InvalidNameException("array name '" + name + "' is a registry file name");
        }
    }
}
