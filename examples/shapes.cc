// C++ workload for symbol tests: a class template, namespaces and virtual calls. Each
// hot function is out of line so the flame graph names it: Matrix<double>::mul gets about
// a tenth of the loop's work, geo::Square::area(int) const and geo::Circle::area(int) const
// equal halves of the rest through a virtual call. Each call lasts milliseconds and its length varies from
// round to round (the same for both shapes), so a 999 Hz sampler cannot lock onto the
// loop's phase and favour one shape (seen in CI with 0.1 ms calls: 51% against 39%).
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

template <typename T> class Matrix {
public:
	explicit Matrix(int n) : n_(n), v_(n * n, T(1)) {}
	__attribute__((noinline)) Matrix mul(const Matrix &o) const
	{
		Matrix r(n_);
		for (int i = 0; i < n_; i++)
			for (int j = 0; j < n_; j++) {
				T s = 0;
				for (int k = 0; k < n_; k++)
					s += v_[i * n_ + k] * o.v_[k * n_ + j];
				r.v_[i * n_ + j] = s / n_;
			}
		return r;
	}
	T at(int i) const { return v_[i]; }

private:
	int n_;
	std::vector<T> v_;
};

namespace geo {
struct Shape {
	virtual ~Shape() {}
	virtual double area(int reps) const = 0;
};
struct Square : Shape {
	double side = 1.5;
	__attribute__((noinline)) double area(int reps) const override
	{
		volatile double a = 0;
		for (int i = 0; i < reps; i++)
			a = a + side * side;
		return a;
	}
};
struct Circle : Shape {
	double r = 0.5;
	__attribute__((noinline)) double area(int reps) const override
	{
		volatile double a = 0;
		for (int i = 0; i < reps; i++)
			a = a + 3.14159 * r * r;
		return a;
	}
};
} // namespace geo

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	Matrix<double> m(128);
	geo::Square sq;
	geo::Circle ci;
	std::vector<geo::Shape *> shapes = {&sq, &ci};
	double sum = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long rounds = 0;
	unsigned seed = 12345;
	do {
		seed = seed * 1103515245u + 12345u;
		int reps = 2000000 + (int)((seed >> 8) % 2000000);
		Matrix<double> r = m.mul(m);
		sum += r.at(0);
		for (geo::Shape *s : shapes)
			sum += s->area(reps);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	printf("shapes: %ld rounds (%g)\n", rounds, sum > 0 ? 1.0 : 0.0);
	return 0;
}
