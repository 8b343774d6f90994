package io.evonas.nas.graph;

import java.util.List;
import java.util.Objects;

/**
 * Protects a vertex from mutations, except those of the allowed types (NaiveGAflux's {@code MutationShield}).
 * A mutation is allowed when it is an instance of one of the allowed classes.
 */
public record MutationShield(List<Class<?>> allowed) {
    /** A shield that allows nothing. */
    public static final MutationShield ALL = new MutationShield(List.of());

    public MutationShield {
        allowed = List.copyOf(Objects.requireNonNull(allowed, "allowed"));
    }

    public static MutationShield allowing(Class<?>... types) {
        return new MutationShield(List.of(types));
    }

    /** Whether {@code mutation} may change the shielded vertex. */
    public boolean allows(Object mutation) {
        for (Class<?> c : allowed) {
            if (c.isInstance(mutation)) {
                return true;
            }
        }
        return false;
    }
}
