package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TuningTest {
    private static final String NAME = "evonas.test.tuning";

    @AfterEach
    void clear() {
        System.clearProperty(NAME);
    }

    @Test
    void unsetGivesTheFallbackAndAValueIsRead() {
        assertEquals(512, Tuning.integer(NAME, 512, 1));
        System.setProperty(NAME, " 1024 ");
        assertEquals(1024, Tuning.integer(NAME, 512, 1));
        System.setProperty(NAME, "0");
        assertEquals(0, Tuning.integer(NAME, 16, 0), "zero is allowed where the least is zero");
    }

    @Test
    void aValueBelowTheLeastOrNotANumberIsRefusedByName() {
        System.setProperty(NAME, "0");
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> Tuning.integer(NAME, 512, 1));
        assertTrue(small.getMessage().contains("-D" + NAME + "=0 must be at least 1"), small.getMessage());
        System.setProperty(NAME, "-3");
        assertThrows(IllegalArgumentException.class, () -> Tuning.integer(NAME, 512, 1));
        System.setProperty(NAME, "big");
        IllegalArgumentException word = assertThrows(IllegalArgumentException.class,
                () -> Tuning.integer(NAME, 512, 1));
        assertTrue(word.getMessage().contains("-D" + NAME + "=big is not a whole number"), word.getMessage());
    }
}
