package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;

/**
 * The participating (vertex, position) pairs grouped into tie classes: the transitive closure of "STACK output
 * position {@code o_k + j} = position {@code j} of input {@code k}" and "INVARIANT output position {@code i} =
 * position {@code i} of every input". A class keeps or drops its neuron as one, and new neurons inserted after it
 * are inserted after each of its positions.
 *
 * <p>Participants are numbered {@code j = 0 .. vertices.length-1} in increasing vertex id; position {@code i} of
 * participant {@code j} is flat index {@code offset[j] + i}.
 */
final class TieClasses {
    final int[] vertices;
    final int[] offset;
    final int[] classOf;
    final int classes;
    /** Summed utility of the positions in each class. */
    final double[] utility;
    /** Flat index of each class's first position (its lowest participant, lowest position). */
    final int[] firstPosition;
    /** Positions of each class in CSR form: {@code positions[start[c] .. start[c+1]-1]}, increasing. */
    final int[] start;
    final int[] positions;
    /** Participant of each flat position. */
    final int[] vertexOf;

    private TieClasses(int[] vertices, int[] offset, int[] classOf, int classes, double[] utility,
            int[] firstPosition, int[] start, int[] positions, int[] vertexOf) {
        this.vertices = vertices;
        this.offset = offset;
        this.classOf = classOf;
        this.classes = classes;
        this.utility = utility;
        this.firstPosition = firstPosition;
        this.start = start;
        this.positions = positions;
        this.vertexOf = vertexOf;
    }

    static TieClasses of(SizeProblem p, boolean[] participants) {
        int count = 0;
        for (boolean b : participants) {
            count += b ? 1 : 0;
        }
        int[] vertices = new int[count];
        int[] local = new int[p.size()];
        int[] offset = new int[count + 1];
        for (int v = 0, j = 0; v < p.size(); v++) {
            local[v] = -1;
            if (participants[v]) {
                local[v] = j;
                vertices[j] = v;
                offset[j + 1] = offset[j] + p.nout(v);
                j++;
            }
        }
        int total = offset[count];
        UnionFind uf = new UnionFind(total);
        for (int j = 0; j < count; j++) {
            int v = vertices[j];
            Kind kind = p.kind(v);
            if (kind != Kind.STACK && kind != Kind.INVARIANT) {
                continue;
            }
            int o = 0;
            for (int u : p.inputsView(v)) {
                int ju = local[u];
                int n = p.nout(u);
                for (int i = 0; i < n; i++) {
                    uf.union(offset[j] + o + i, offset[ju] + i);
                }
                o += kind == Kind.STACK ? n : 0;
            }
        }
        return group(p, vertices, offset, uf, total);
    }

    private static TieClasses group(SizeProblem p, int[] vertices, int[] offset, UnionFind uf, int total) {
        int[] classOfRoot = new int[total];
        java.util.Arrays.fill(classOfRoot, -1);
        int[] classOf = new int[total];
        int[] vertexOf = new int[total];
        int classes = 0;
        for (int j = 0; j < vertices.length; j++) {
            for (int pos = offset[j]; pos < offset[j + 1]; pos++) {
                vertexOf[pos] = j;
                int r = uf.find(pos);
                if (classOfRoot[r] < 0) {
                    classOfRoot[r] = classes++;
                }
                classOf[pos] = classOfRoot[r];
            }
        }
        double[] utility = new double[classes];
        int[] first = new int[classes];
        int[] start = new int[classes + 1];
        java.util.Arrays.fill(first, -1);
        for (int j = 0; j < vertices.length; j++) {
            double[] u = p.utilityView(vertices[j]);
            for (int i = 0; i < u.length; i++) {
                int c = classOf[offset[j] + i];
                utility[c] += u[i];
                start[c + 1]++;
                if (first[c] < 0) {
                    first[c] = offset[j] + i;
                }
            }
        }
        for (int c = 0; c < classes; c++) {
            start[c + 1] += start[c];
        }
        int[] fill = start.clone();
        int[] positions = new int[total];
        for (int pos = 0; pos < total; pos++) {
            positions[fill[classOf[pos]]++] = pos;
        }
        return new TieClasses(vertices, offset, classOf, classes, utility, first, start, positions, vertexOf);
    }

    int participants() {
        return vertices.length;
    }
}
