package io.evonas.nas.data;

/** A data file that cannot be read as what it claims to be: the message names the file and what is wrong. */
public class DataFormatException extends RuntimeException {
    public DataFormatException(String message) {
        super(message);
    }

    public DataFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
