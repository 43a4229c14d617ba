//! ordex matching core (work in progress).
